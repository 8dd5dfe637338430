// Infinite scroll for the home feed, explore, tag pages and profile grids. Each page ends with
// an ordinary "Older posts" link (rel=next) that works without this file. Here, when that link
// comes near the viewport, we fetch the next page as a fragment (the server answers only the
// new cards or thumbnails and the next link when it sees X-Requested-With: fetch), append it,
// and watch the new link. If anything fails the link stays, and a click still works.
import { paintPlaceholders } from "./photos.js";

const FRAGMENT_HEADERS = { "X-Requested-With": "fetch" };
// Start loading well before the reader reaches the end.
const PRELOAD_MARGIN = "1200px 0px";

function parseFragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return template.content;
}

function setUpInfiniteScroll(list) {
  let loading = false;

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) loadAfter(entry.target);
    }
  }, { rootMargin: PRELOAD_MARGIN });

  async function loadAfter(pager) {
    const link = pager.querySelector("a[rel=next]");
    if (loading || !link || !pager.isConnected) return;
    loading = true;
    list.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(link.href, { headers: FRAGMENT_HEADERS, credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const fragment = parseFragment(await response.text());
      const items = fragment.querySelector("[data-items]");
      const nextPager = fragment.querySelector("[data-more]");
      if (items) list.append(...items.children);
      observer.unobserve(pager);
      if (nextPager) {
        pager.replaceWith(nextPager);
        observer.observe(nextPager);
      } else {
        pager.remove();
      }
      paintPlaceholders(list);
    } catch {
      // Leave the link for the reader to click, and stop fetching on our own.
      observer.disconnect();
    } finally {
      loading = false;
      list.setAttribute("aria-busy", "false");
    }
  }

  const pager = document.querySelector("[data-more]");
  if (pager) observer.observe(pager);
}

const list = document.querySelector("[data-items]");
if (list && "IntersectionObserver" in window) setUpInfiniteScroll(list);

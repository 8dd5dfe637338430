// The "N likes" line under a post, from a count: used when the reader likes (social.js) and
// when anyone else does while the photo page is open (live-pages.js). Its words come from the
// server, translated, in data-zero, data-one and data-many ("%(count)s likes").

/** Shows ``count`` in ``link`` ([data-like-count]); does nothing without one. */
export function setLikeCount(link, count) {
  if (!link || !Number.isFinite(count)) return;
  link.dataset.likeCount = String(count);
  if (count === 0) link.textContent = link.dataset.zero;
  else if (count === 1) link.textContent = link.dataset.one;
  else link.textContent = link.dataset.many.replace("%(count)s", count.toLocaleString());
}

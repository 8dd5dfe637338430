// Photo pages and grids: placeholders while images load, the carousel's buttons, and
// confirmation before deleting. Everything here is optional: without it the page still works.
import { blurhashDataURL } from "./blurhash.js";

export function paintPlaceholders(root = document) {
  for (const img of root.querySelectorAll("img[data-blurhash]:not([data-painted])")) {
    img.dataset.painted = "1";
    if (img.complete && img.naturalWidth) continue;
    // Styles set from script are allowed by our CSP (inline style attributes are not).
    img.style.backgroundColor = img.dataset.color || "";
    try {
      img.style.backgroundImage = `url(${blurhashDataURL(img.dataset.blurhash)})`;
    } catch {
      /* a malformed hash leaves the dominant colour, which is fine */
    }
    img.addEventListener("load", () => { img.style.backgroundImage = ""; img.style.backgroundColor = ""; }, { once: true });
  }
}

function setUpCarousel(carousel) {
  const track = carousel.querySelector(".carousel-track");
  const slides = [...carousel.querySelectorAll(".carousel-slide")];
  const prev = carousel.querySelector(".carousel-prev");
  const next = carousel.querySelector(".carousel-next");
  const dots = [...carousel.querySelectorAll(".carousel-dot")];
  if (!track || slides.length < 2) return;
  const current = () => Math.round(track.scrollLeft / track.clientWidth);
  const go = (index) => track.scrollTo({ left: index * track.clientWidth, behavior: "smooth" });
  const update = () => {
    const i = current();
    prev.hidden = i <= 0;
    next.hidden = i >= slides.length - 1;
    dots.forEach((dot, j) => dot.classList.toggle("active", j === i));
    carousel.dataset.index = String(i);
  };
  prev.addEventListener("click", () => go(current() - 1));
  next.addEventListener("click", () => go(current() + 1));
  dots.forEach((dot, j) => dot.addEventListener("click", (event) => { event.preventDefault(); go(j); }));
  track.addEventListener("scroll", () => requestAnimationFrame(update), { passive: true });
  track.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight") { event.preventDefault(); go(current() + 1); }
    if (event.key === "ArrowLeft") { event.preventDefault(); go(current() - 1); }
  });
  update();
}

paintPlaceholders();
document.querySelectorAll("[data-carousel]").forEach(setUpCarousel);
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

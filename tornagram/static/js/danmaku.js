// Danmaku: comments flying right-to-left across a photo, Bilibili style, in lanes that never
// overlap. Every comment crosses in the same time (container width + its own width in
// DANMAKU_DURATION_MS), so long comments move faster; lane choice compares times, below.
//
// The overlay is a child layer with pointer-events: none and aria-hidden (screen readers get
// the same text from the comment or message list, once). Text goes in with textContent only.
// Nothing runs at import time, so Node's test runner can import this module.

export const DANMAKU_DURATION_MS = 8_000;
export const LANE_GAP_PX = 24; // space between a comment's tail and the next one's head
export const MAX_CHARS = 60; // a 2,200-character comment would cross as an unreadable blur
export const MAX_QUEUE = 30; // past this the channel is busy: the oldest waiting are dropped
export const MAX_WAIT_MS = 4_000; // a comment that waited longer than this is old news
export const STATIC_SHOW_MS = 6_000; // reduced motion: how long a comment stays listed
export const STATIC_MAX_ITEMS = 4;
const LINE_HEIGHT = 1.5; // keep in step with .danmaku-item in live.css
const STORAGE_KEY = "tornagram.danmaku";

/**
 * Which lane a comment of a given width may enter, and when. Pure arithmetic on times, so it
 * is tested without a browser.
 *
 * A comment of width w starts with its head (left edge) at x = W, the container's right edge,
 * and moves at v = (W + w) / D until its tail (right edge) reaches x = 0 at start + D.
 * A new comment may enter a lane when, for the lane's last comment L:
 *   1. L has fully entered, plus a gap: its tail is at most W - gap, i.e.
 *      now >= L.start + (L.w + gap) / L.v;
 *   2. if the new comment is faster, it will not catch L up before L leaves: the gap between
 *      them shrinks steadily, so it is smallest when L's tail reaches 0 at L.start + D, when
 *      the new head, W - v(L.start + D - now), must still be at least gap, i.e.
 *      now >= L.start + D - (W - gap) / v.
 * Earlier comments in the lane are ahead of L and leave before it, so L is all that matters.
 */
export class LaneAllocator {
  constructor({ width, lanes, durationMs = DANMAKU_DURATION_MS, gapPx = LANE_GAP_PX }) {
    this.durationMs = durationMs;
    this.gapPx = gapPx;
    this.resize(width, lanes);
  }

  /** A new size starts afresh: in-flight comments were laid out for the old one. */
  resize(width, lanes) {
    this.width = width;
    this.lanes = new Array(Math.max(1, lanes)).fill(null);
  }

  speed(w) {
    return (this.width + w) / this.durationMs; // px per ms
  }

  /** The earliest time at which `lane` accepts a comment `w` px wide. */
  freeAt(lane, w) {
    const last = this.lanes[lane];
    if (!last) return -Infinity;
    const lastSpeed = this.speed(last.w);
    const entered = last.start + (last.w + this.gapPx) / lastSpeed;
    const speed = this.speed(w);
    if (speed <= lastSpeed) return entered;
    const notCaught = last.start + this.durationMs - Math.max(0, this.width - this.gapPx) / speed;
    return Math.max(entered, notCaught);
  }

  /** The first free lane (top first, as on Bilibili), now claimed; -1 if none. */
  place(w, now) {
    for (let lane = 0; lane < this.lanes.length; lane++) {
      if (this.freeAt(lane, w) <= now) {
        this.lanes[lane] = { start: now, w };
        return lane;
      }
    }
    return -1;
  }

  nextFreeAt(w) {
    return Math.min(...this.lanes.map((_, lane) => this.freeAt(lane, w)));
  }
}

// -- the on/off preference, shared by every stage on the page ---------------------------------

function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled (privacy settings): the toggle still works for this page
  }
}

export function danmakuEnabled() {
  try {
    return storage()?.getItem(STORAGE_KEY) !== "off";
  } catch {
    return true;
  }
}

export function setDanmakuEnabled(on) {
  try {
    storage()?.setItem(STORAGE_KEY, on ? "on" : "off");
  } catch {
    /* quota or privacy mode: the choice lasts for this page only */
  }
}

/**
 * Wires every <button data-danmaku-toggle aria-pressed> under root: aria-pressed shows the
 * state, a click flips it for the whole page and remembers it. onChange(on) is called now and
 * on every change, so the page can tell its Danmaku instances.
 */
export function wireDanmakuToggles(root, onChange) {
  const buttons = [...root.querySelectorAll("[data-danmaku-toggle]")];
  let on = danmakuEnabled();
  const apply = () => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(on));
    onChange?.(on);
  };
  for (const button of buttons) {
    button.addEventListener("click", () => {
      on = !on;
      setDanmakuEnabled(on);
      apply();
    });
    // Shown only now (live.css hides them until then): without this script they do nothing.
    button.setAttribute("data-ready", "");
  }
  for (const bar of root.querySelectorAll("[data-danmaku-bar]")) bar.hidden = false;
  apply();
  return buttons.length;
}

// -- the overlay ------------------------------------------------------------------------------

export class Danmaku {
  /**
   * @param container the photo's wrapper (position: relative; live.css makes sure)
   * @param options durationMs, laneHeightPx (default: from the layer's font size),
   *   now/setTimeout/clearTimeout/matchMedia/document (tests pass fakes)
   */
  constructor(container, options = {}) {
    const g = globalThis;
    this.options = {
      durationMs: DANMAKU_DURATION_MS,
      now: () => g.performance?.now() ?? Date.now(),
      setTimeout: (fn, ms) => g.setTimeout(fn, ms),
      clearTimeout: (handle) => g.clearTimeout(handle),
      matchMedia: g.matchMedia ? (query) => g.matchMedia(query) : null,
      document: container.ownerDocument ?? g.document,
      ...options,
    };
    this.container = container;
    this.enabled = true;
    this.queue = [];
    this._timer = null;
    this._reducedMotion = this.options.matchMedia?.("(prefers-reduced-motion: reduce)") ?? null;
    this.layer = this.options.document.createElement("div");
    this.layer.className = "danmaku-layer";
    this.layer.setAttribute("aria-hidden", "true");
    container.append(this.layer);
    this.allocator = new LaneAllocator({ width: 0, lanes: 1, durationMs: this.options.durationMs });
    this._list = null;
  }

  setEnabled(on) {
    this.enabled = Boolean(on);
    this.container.classList.toggle("danmaku-off", !this.enabled);
    if (!this.enabled) this.clear();
  }

  clear() {
    this.queue = [];
    this.options.clearTimeout(this._timer);
    this._timer = null;
    this.layer.replaceChildren();
    this._list = null;
    this.allocator.resize(this.allocator.width, this.allocator.lanes.length);
  }

  /** Flies text across the photo; returns false when it was not shown (off, hidden page). */
  add(text, { self = false } = {}) {
    if (!this.enabled) return false;
    let clean = String(text ?? "").replace(/\s+/g, " ").trim();
    if (!clean) return false;
    const chars = [...clean]; // by code point, so an emoji is never cut in half
    if (chars.length > MAX_CHARS) clean = `${chars.slice(0, MAX_CHARS - 1).join("")}…`;
    // Nobody would see it, and coming back to a tab should not release a flood.
    if (this.options.document.hidden) return false;
    if (this._reducedMotion?.matches) return this._addStatic(clean, self);
    const item = { text: clean, self, at: this.options.now(), el: null, w: 0 };
    if (self) {
      // Your own comment goes first: it is the one you are watching for.
      if (!this._tryPlace(item)) this.queue.unshift(item);
    } else if (this.queue.length || !this._tryPlace(item)) {
      this.queue.push(item);
      if (this.queue.length > MAX_QUEUE) this.queue.splice(this.queue.findIndex((q) => !q.self), 1);
    }
    this._schedule();
    return true;
  }

  _measureLayout() {
    const width = this.layer.clientWidth;
    const height = this.layer.clientHeight;
    let laneHeight = this.options.laneHeightPx;
    if (!laneHeight) {
      const view = this.options.document.defaultView;
      const fontPx = parseFloat(view?.getComputedStyle(this.layer).fontSize) || 16;
      laneHeight = fontPx * LINE_HEIGHT;
    }
    const lanes = Math.max(1, Math.floor(height / laneHeight));
    if (width !== this.allocator.width || lanes !== this.allocator.lanes.length) {
      this.allocator.resize(width, lanes);
    }
    return laneHeight;
  }

  /** True when the item is done with: flying, or dropped because there is nothing to fly over. */
  _tryPlace(item) {
    const laneHeight = this._measureLayout();
    if (this.allocator.width <= 0) return true; // the photo is not laid out (hidden, collapsed)
    if (!item.el) {
      const el = this.options.document.createElement("span");
      el.className = item.self ? "danmaku-item danmaku-self" : "danmaku-item";
      el.textContent = item.text;
      this.layer.append(el); // parked off-screen at left: 100% to be measured
      item.el = el;
      item.w = el.offsetWidth;
    }
    const lane = this.allocator.place(item.w, this.options.now());
    if (lane < 0) {
      item.el.remove();
      return false;
    }
    if (!item.el.isConnected) this.layer.append(item.el);
    this._fly(item.el, lane * laneHeight, this.allocator.width + item.w);
    return true;
  }

  _fly(el, topPx, distancePx) {
    const duration = this.options.durationMs;
    el.style.setProperty("top", `${topPx}px`);
    if (typeof el.animate === "function") {
      const frames = [{ transform: "translateX(0)" }, { transform: `translateX(${-distancePx}px)` }];
      const animation = el.animate(frames, { duration, easing: "linear" });
      animation.onfinish = () => el.remove();
      animation.oncancel = () => el.remove();
      return;
    }
    // No Web Animations: a CSS animation driven by custom properties (allowed by the CSP,
    // which forbids only style attributes written into the HTML).
    el.style.setProperty("--danmaku-distance", `${-distancePx}px`);
    el.style.setProperty("--danmaku-duration", `${duration}ms`);
    el.classList.add("danmaku-fly");
    el.addEventListener("animationend", () => el.remove(), { once: true });
  }

  _schedule() {
    this.options.clearTimeout(this._timer);
    this._timer = null;
    if (!this.queue.length) return;
    const now = this.options.now();
    this.queue = this.queue.filter((item) => now - item.at <= MAX_WAIT_MS);
    if (!this.queue.length) return;
    const head = this.queue[0];
    // Until it has been measured, a comment's width is unknown: look again soon.
    const due = head.el ? this.allocator.nextFreeAt(head.w) : now + 100;
    this._timer = this.options.setTimeout(() => this._drain(), Math.max(16, due - now));
  }

  _drain() {
    this._timer = null;
    while (this.queue.length && this._tryPlace(this.queue[0])) this.queue.shift();
    this._schedule();
  }

  /** prefers-reduced-motion: a short list that fades, instead of motion across the photo. */
  _addStatic(text, self) {
    const doc = this.options.document;
    if (!this._list) {
      this._list = doc.createElement("div");
      this._list.className = "danmaku-list";
      this.layer.append(this._list);
    }
    const el = doc.createElement("span");
    el.className = self ? "danmaku-static danmaku-self" : "danmaku-static";
    el.textContent = text;
    el.style.setProperty("--danmaku-static-duration", `${STATIC_SHOW_MS}ms`);
    this._list.append(el);
    while (this._list.children.length > STATIC_MAX_ITEMS) this._list.children[0].remove();
    this.options.setTimeout(() => el.remove(), STATIC_SHOW_MS);
    return true;
  }
}

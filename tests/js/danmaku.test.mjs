// Lane allocation (pure arithmetic, checked on random traffic) and the overlay on a fake DOM.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  DANMAKU_DURATION_MS,
  Danmaku,
  LANE_GAP_PX,
  LaneAllocator,
  MAX_CHARS,
  MAX_QUEUE,
  MAX_WAIT_MS,
  STATIC_MAX_ITEMS,
  STATIC_SHOW_MS,
  danmakuEnabled,
  wireDanmakuToggles,
} from "../../tornagram/static/js/danmaku.js";
import { FakeClock, FakeDocument } from "./fakes.mjs";

/** A small seeded generator, so a failure can be replayed from its seed. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where a comment's head and tail are at time t (x from the container's left edge). */
function position(item, W, D, t) {
  const head = W - ((W + item.w) / D) * (t - item.start);
  return { head, tail: head + item.w };
}

/**
 * Two comments in a lane overlap if, at some moment when both are on screen, the later one's
 * head is less than the gap from the earlier one's tail. Distances change linearly, so it is
 * enough to look at the ends of the shared interval (and we sample in between as well).
 */
function assertNoOverlap(placed, W, D, gap, seed) {
  const eps = 1e-6;
  for (let i = 0; i < placed.length; i++) {
    for (let j = i + 1; j < placed.length; j++) {
      const [a, b] = [placed[i], placed[j]]; // a started no later than b
      if (a.lane !== b.lane) continue;
      const from = b.start;
      const to = Math.min(a.start + D, b.start + D);
      if (to <= from) continue; // a had left before b came
      for (let k = 0; k <= 8; k++) {
        const t = from + ((to - from) * k) / 8;
        const gapNow = position(b, W, D, t).head - position(a, W, D, t).tail;
        // While a is visible (tail > 0), b keeps at least the gap behind it.
        if (position(a, W, D, t).tail > eps) {
          assert.ok(gapNow >= Math.min(gap, position(a, W, D, t).tail) - eps,
            `seed ${seed}: lane ${a.lane} items ${i} and ${j} come within ${gapNow}px at t=${t}`);
        }
      }
    }
  }
}

describe("LaneAllocator", () => {
  it("never lets comments in one lane overlap, on random traffic", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = rng(seed);
      const W = 200 + Math.floor(random() * 800);
      const lanes = 1 + Math.floor(random() * 8);
      const D = DANMAKU_DURATION_MS;
      const allocator = new LaneAllocator({ width: W, lanes, durationMs: D });
      const placed = [];
      let now = 0;
      for (let n = 0; n < 150; n++) {
        now += random() < 0.3 ? 0 : random() * 1500; // bursts and lulls
        // Mostly short comments, sometimes very long ones (which fly faster).
        const w = random() < 0.15 ? 300 + random() * 900 : 10 + random() * 200;
        const lane = allocator.place(w, now);
        if (lane >= 0) {
          placed.push({ lane, start: now, w });
        } else {
          const at = allocator.nextFreeAt(w);
          assert.ok(at > now, `seed ${seed}: refused although a lane is free now`);
          const laterLane = allocator.place(w, at);
          assert.ok(laterLane >= 0, `seed ${seed}: nextFreeAt promised a lane`);
          placed.push({ lane: laterLane, start: at, w });
          now = at;
        }
      }
      assertNoOverlap(placed, W, D, LANE_GAP_PX, seed);
    }
  });

  it("fills lanes top first and waits for a comment to enter fully", () => {
    const allocator = new LaneAllocator({ width: 500, lanes: 2 });
    assert.equal(allocator.place(100, 0), 0);
    assert.equal(allocator.place(100, 0), 1);
    assert.equal(allocator.place(100, 0), -1);
    // 100 px + gap at (500+100)/8000 px/ms: lane 0 frees at (124)/(0.075) ms.
    const free = (100 + LANE_GAP_PX) / (600 / DANMAKU_DURATION_MS);
    assert.ok(Math.abs(allocator.nextFreeAt(100) - free) < 1e-9);
    assert.equal(allocator.place(100, free), 0);
  });

  it("holds back a long, fast comment that would catch a slow short one", () => {
    const W = 500;
    const allocator = new LaneAllocator({ width: W, lanes: 1 });
    allocator.place(20, 0);
    const entered = allocator.freeAt(0, 20);
    const longOne = allocator.freeAt(0, 1000);
    assert.ok(longOne > entered, "the faster comment must wait longer");
    // At the moment the slow one leaves (t = D), the fast one's head is exactly the gap in.
    const v = (W + 1000) / DANMAKU_DURATION_MS;
    const head = W - v * (DANMAKU_DURATION_MS - longOne);
    assert.ok(Math.abs(head - LANE_GAP_PX) < 1e-6);
    // A slower (shorter) one only needs the first to have entered.
    assert.equal(allocator.freeAt(0, 10), entered);
  });
});

function stage({ reducedMotion = false, hidden = false } = {}) {
  const doc = new FakeDocument();
  doc.hidden = hidden;
  const clock = new FakeClock();
  const container = doc.h("div", { "data-danmaku-stage": "" });
  doc.body.append(container);
  const danmaku = new Danmaku(container, {
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    matchMedia: () => ({ matches: reducedMotion }),
  });
  return { doc, clock, container, danmaku };
}

describe("Danmaku overlay", () => {
  it("adds an aria-hidden layer and flies text inserted as text", () => {
    const { doc, container, danmaku } = stage();
    assert.equal(danmaku.layer.parentNode, container);
    assert.equal(danmaku.layer.getAttribute("aria-hidden"), "true");
    assert.equal(danmaku.add("<img src=x onerror=alert(1)>"), true);
    const [flight] = doc.animations;
    assert.equal(flight.el.textContent, "<img src=x onerror=alert(1)>");
    assert.equal(flight.el.childNodes.length, 1);
    assert.equal(flight.el.childNodes[0].nodeType, 3, "a text node, never parsed markup");
    assert.equal(flight.options.duration, DANMAKU_DURATION_MS);
    const width = "<img src=x onerror=alert(1)>".length * 10;
    assert.deepEqual(flight.frames.at(-1), { transform: `translateX(${-(600 + width)}px)` });
    flight.animation.onfinish();
    assert.equal(danmaku.layer.children.length, 0, "finished comments leave the DOM");
  });

  it("marks your own comments, trims whitespace and long text", () => {
    const { doc, danmaku } = stage();
    danmaku.add("  mine \n too ", { self: true });
    assert.equal(doc.animations[0].el.textContent, "mine too");
    assert.ok(doc.animations[0].el.classList.contains("danmaku-self"));
    danmaku.add("🙂".repeat(200));
    const text = doc.animations[1].el.textContent;
    assert.equal([...text].length, MAX_CHARS);
    assert.ok(text.endsWith("…"));
    assert.equal(danmaku.add("   "), false);
  });

  it("puts comments in separate lanes, then queues and releases them in order", () => {
    const { doc, clock, danmaku } = stage(); // 240 px high, 24 px lanes: 10 lanes
    for (let i = 0; i < 12; i++) danmaku.add(`comment ${i}`);
    assert.equal(doc.animations.length, 10);
    const tops = doc.animations.map((a) => a.el.style.props.top);
    assert.equal(new Set(tops).size, 10);
    assert.equal(danmaku.queue.length, 2);
    clock.advance(DANMAKU_DURATION_MS);
    assert.equal(doc.animations.length, 12);
    assert.deepEqual(doc.animations.slice(10).map((a) => a.el.textContent), ["comment 10", "comment 11"]);
    assert.equal(danmaku.queue.length, 0);
  });

  it("drops the oldest waiting comments on a busy channel, but never yours", () => {
    const { doc, danmaku } = stage();
    for (let i = 0; i < 10; i++) danmaku.add(`fill ${i}`);
    danmaku.add("mine", { self: true });
    for (let i = 0; i < MAX_QUEUE + 5; i++) danmaku.add(`busy ${i}`);
    assert.equal(danmaku.queue.length, MAX_QUEUE);
    assert.equal(danmaku.queue[0].text, "mine");
    assert.equal(danmaku.queue[1].text, "busy 6"); // 1 + 35 waiting, 30 kept: busy 0–5 dropped
    assert.equal(doc.animations.length, 10);
  });

  it("forgets comments that waited too long", () => {
    const { clock, danmaku } = stage();
    danmaku.allocator.resize(600, 1);
    danmaku._measureLayout = () => 24; // one lane only, to make a queue
    danmaku.add("a very long comment that takes its time to enter the photo completely");
    danmaku.add("b");
    clock.advance(MAX_WAIT_MS + 1);
    danmaku.add("c");
    assert.deepEqual(danmaku.queue.map((q) => q.text), ["c"]);
  });

  it("does nothing when off, or when nobody can see the page", () => {
    const off = stage();
    off.danmaku.add("x");
    off.danmaku.setEnabled(false);
    assert.ok(off.container.classList.contains("danmaku-off"));
    assert.equal(off.danmaku.layer.children.length, 0, "turning off clears the photo");
    assert.equal(off.danmaku.add("y"), false);
    off.danmaku.setEnabled(true);
    assert.equal(off.danmaku.add("z"), true);
    const hidden = stage({ hidden: true });
    assert.equal(hidden.danmaku.add("x"), false);
    assert.equal(hidden.doc.animations.length, 0);
  });

  it("shows a short fading list instead of motion when motion is reduced", () => {
    const { doc, clock, danmaku } = stage({ reducedMotion: true });
    for (let i = 0; i < STATIC_MAX_ITEMS + 2; i++) danmaku.add(`quiet ${i}`);
    assert.equal(doc.animations.length, 0);
    const list = danmaku.layer.querySelector(".danmaku-list");
    assert.equal(list.children.length, STATIC_MAX_ITEMS);
    assert.equal(list.children[0].textContent, "quiet 2");
    clock.advance(STATIC_SHOW_MS);
    assert.equal(list.children.length, 0);
  });
});

describe("danmaku toggle", () => {
  it("reflects, flips and remembers the choice", (t) => {
    const store = new Map();
    globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
    t.after(() => { delete globalThis.localStorage; });
    const doc = new FakeDocument();
    const a = doc.h("button", { "data-danmaku-toggle": "", "aria-pressed": "true" });
    const b = doc.h("button", { "data-danmaku-toggle": "", "aria-pressed": "true" });
    const bar = doc.h("p", { "data-danmaku-bar": "" });
    bar.hidden = true; // as the server renders it: useless until this script runs
    doc.body.append(a, b, bar);
    const seen = [];
    assert.equal(wireDanmakuToggles(doc, (on) => seen.push(on)), 2);
    assert.deepEqual(seen, [true]);
    assert.ok(a.hasAttribute("data-ready") && b.hasAttribute("data-ready"), "shown once wired");
    assert.equal(bar.hidden, false);
    a.click();
    assert.deepEqual(seen, [true, false]);
    assert.equal(b.getAttribute("aria-pressed"), "false");
    assert.equal(store.get("tornagram.danmaku"), "off");
    assert.equal(danmakuEnabled(), false);
    b.click();
    assert.equal(a.getAttribute("aria-pressed"), "true");
    assert.equal(danmakuEnabled(), true);
  });

  it("works without storage", () => {
    assert.equal(globalThis.localStorage, undefined);
    assert.equal(danmakuEnabled(), true);
  });
});

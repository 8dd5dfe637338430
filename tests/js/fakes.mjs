// Tiny stand-ins for the browser, just enough for the live modules: a clock with timers we
// advance by hand, a WebSocket the test plays the server for, fetch, and a small DOM.
// No npm packages: the modules under test must run on a bare Node.

/** Timers on a virtual clock. advance(ms) runs what falls due, in order. */
export class FakeClock {
  constructor() {
    this.t = 0;
    this.timers = new Map();
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (fn, ms = 0) => {
      const id = this.nextId++;
      this.timers.set(id, { at: this.t + Math.max(0, ms), fn, ms });
      return id;
    };
    this.clearTimeout = (id) => { this.timers.delete(id); };
  }

  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (!next || timer.at < next[1].at)) next = [id, timer];
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }

  /** Delays (from now) of the timers still pending. */
  pending() {
    return [...this.timers.values()].map((timer) => timer.at - this.t);
  }
}

/** Lets promise callbacks (await chains) run. */
export const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** A WebSocket class whose instances the test drives as the server would. */
export function fakeWebSockets() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.readyState = 0;
      this.closedWith = null;
      sockets.push(this);
    }

    send(text) {
      if (this.readyState !== 1) throw new Error("InvalidStateError");
      this.sent.push(JSON.parse(text));
    }

    close(code = 1000) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.closedWith = code;
      this.onclose?.({ code });
    }

    // -- the server's side
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }

    receive(message) {
      this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
    }

    drop(code = 1006) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onerror?.({});
      this.onclose?.({ code });
    }

    ops(op) {
      return this.sent.filter((message) => message.op === op);
    }
  }
  return { FakeWebSocket, sockets, last: () => sockets[sockets.length - 1] };
}

/** fetch whose answers the test gives: requests[i].respond(status, body) / .fail(). */
export function fakeFetch() {
  const requests = [];
  const fetch = (url, init = {}) => new Promise((resolve, reject) => {
    const request = {
      url: new URL(url),
      init,
      respond: (status, body) => resolve({ ok: status >= 200 && status < 300, status, json: async () => body }),
      fail: () => reject(new TypeError("network error")),
    };
    init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    requests.push(request);
  });
  return { fetch, requests };
}

// -- DOM -------------------------------------------------------------------------------------

const SELECTOR_PART = /^(?:([a-z][a-z0-9-]*)|\.([\w-]+)|#([\w-]+)|\[([\w-]+)(?:([\^]?=)"?([^"\]]*)"?)?\])/i;

/** Compound selectors only (tag, .class, #id, [attr], [attr=v], [attr^=v]), no combinators. */
function matches(el, selector) {
  return selector.split(",").some((one) => {
    let rest = one.trim();
    while (rest) {
      const m = SELECTOR_PART.exec(rest);
      if (!m) throw new Error(`fake DOM cannot parse selector ${one}`);
      rest = rest.slice(m[0].length);
      if (m[1] && el.tagName !== m[1].toUpperCase()) return false;
      if (m[2] && !el.classList.contains(m[2])) return false;
      if (m[3] && el.id !== m[3]) return false;
      if (m[4]) {
        const value = el.getAttribute(m[4]);
        if (value === null) return false;
        if (m[5] === "=" && value !== m[6]) return false;
        if (m[5] === "^=" && !value.startsWith(m[6])) return false;
      }
    }
    return true;
  });
}

class FakeText {
  constructor(text) {
    this.nodeType = 3;
    this.data = String(text);
    this.parentNode = null;
  }

  get textContent() { return this.data; }
  remove() { this.parentNode?._removeChild(this); }
}

const camelToData = (key) => `data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export class FakeElement extends EventTarget {
  constructor(doc, tagName) {
    super();
    this.ownerDocument = doc;
    this.tagName = tagName.toUpperCase();
    this.nodeType = tagName === "#fragment" ? 11 : 1;
    this.attributes = new Map();
    this.childNodes = [];
    this.parentNode = null;
    this.value = "";
    this.scrollTop = 0;
    this.scrollHeight = 0;
    this.style = { props: {}, setProperty(key, value) { this.props[key] = value; } };
    this.dataset = new Proxy({}, {
      get: (_, key) => this.getAttribute(camelToData(String(key))) ?? undefined,
      set: (_, key, value) => { this.setAttribute(camelToData(String(key)), value); return true; },
    });
    const el = this;
    this.classList = {
      contains: (name) => el.className.split(/\s+/).includes(name),
      add: (name) => { if (!this.classList.contains(name)) el.className = `${el.className} ${name}`.trim(); },
      remove: (name) => { el.className = el.className.split(/\s+/).filter((c) => c !== name).join(" "); },
      toggle: (name, force = !this.classList.contains(name)) => {
        if (force) this.classList.add(name); else this.classList.remove(name);
        return force;
      },
    };
    if (this.tagName === "TEMPLATE") this.content = new FakeElement(doc, "#fragment");
  }

  setAttribute(name, value) { this.attributes.set(name, String(value)); }
  getAttribute(name) { return this.attributes.has(name) ? this.attributes.get(name) : null; }
  hasAttribute(name) { return this.attributes.has(name); }
  removeAttribute(name) { this.attributes.delete(name); }
  get id() { return this.getAttribute("id") ?? ""; }
  set id(value) { this.setAttribute("id", value); }
  get className() { return this.getAttribute("class") ?? ""; }
  set className(value) { this.setAttribute("class", value); }
  get href() { return this.getAttribute("href") ?? ""; }
  set href(value) { this.setAttribute("href", value); }
  get type() { return this.getAttribute("type") ?? ""; }
  set type(value) { this.setAttribute("type", value); }
  get hidden() { return this.hasAttribute("hidden"); }
  set hidden(value) { if (value) this.setAttribute("hidden", ""); else this.removeAttribute("hidden"); }

  get children() { return this.childNodes.filter((node) => node.nodeType === 1); }
  get firstElementChild() { return this.children[0] ?? null; }
  get childElementCount() { return this.children.length; }
  get isConnected() {
    let node = this;
    while (node.parentNode) node = node.parentNode;
    return node === this.ownerDocument.documentElement;
  }

  get textContent() { return this.childNodes.map((node) => node.textContent).join(""); }
  set textContent(text) { this.replaceChildren(String(text)); }

  /** The fake "parses" only what tests feed it: one <li id="…">…</li>, or raw markup kept as text. */
  set innerHTML(html) {
    const target = this.content ?? this;
    target.childNodes = [];
    const m = /^<li id="([^"]+)"[^>]*>(.*)<\/li>$/s.exec(html);
    if (m) {
      const li = new FakeElement(this.ownerDocument, "li");
      li.id = m[1];
      li.append(m[2]);
      target.append(li);
    } else if (html) {
      target.append(new FakeText(html));
    }
  }

  append(...nodes) {
    for (let node of nodes) {
      if (typeof node === "string") node = new FakeText(node);
      if (node.nodeType === 11) {
        this.append(...node.childNodes);
        continue;
      }
      node.parentNode?._removeChild(node);
      node.parentNode = this;
      this.childNodes.push(node);
    }
  }

  replaceChildren(...nodes) {
    for (const node of this.childNodes) node.parentNode = null;
    this.childNodes = [];
    this.append(...nodes);
  }

  _removeChild(node) {
    this.childNodes = this.childNodes.filter((child) => child !== node);
    node.parentNode = null;
  }

  remove() { this.parentNode?._removeChild(this); }

  *_descendants() {
    for (const child of this.children) {
      yield child;
      yield* child._descendants();
    }
  }

  matches(selector) { return matches(this, selector); }
  querySelectorAll(selector) { return [...this._descendants()].filter((el) => matches(el, selector)); }
  querySelector(selector) { return this.querySelectorAll(selector)[0] ?? null; }

  // Layout, such as it is: 10 px per character, one size for every box.
  get offsetWidth() { return this.textContent.length * 10; }
  get clientWidth() { return this._clientWidth ?? this.ownerDocument.boxWidth; }
  get clientHeight() { return this._clientHeight ?? this.ownerDocument.boxHeight; }

  animate(frames, options) {
    const animation = { frames, options, onfinish: null, oncancel: null };
    this.ownerDocument.animations.push({ el: this, ...animation, animation });
    return animation;
  }

  submit() { this.ownerDocument.submitted.push(this); }
  click() { this.dispatchEvent(new Event("click")); }
}

export class FakeDocument extends EventTarget {
  constructor({ href = "https://tornagram.test/" } = {}) {
    super();
    this.boxWidth = 600;
    this.boxHeight = 240;
    this.hidden = false;
    this.visibilityState = "visible";
    this.animations = [];
    this.submitted = [];
    this.location = { href };
    this.defaultView = { getComputedStyle: () => ({ fontSize: "16px" }) };
    this.documentElement = new FakeElement(this, "html");
    this.body = new FakeElement(this, "body");
    this.documentElement.append(this.body);
  }

  createElement(tag) { return new FakeElement(this, tag); }
  getElementById(id) { return this.documentElement.querySelector(`#${id}`); }
  querySelectorAll(selector) { return this.documentElement.querySelectorAll(selector); }
  querySelector(selector) { return this.documentElement.querySelector(selector); }

  /** h("li", {id: "x", "data-y": ""}, "text", child…) */
  h(tag, attributes = {}, ...children) {
    const el = this.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
    el.append(...children);
    return el;
  }
}

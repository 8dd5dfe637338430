// The live connection: one WebSocket per page (GET /ws), falling back to long-polling
// (GET /poll) where sockets cannot open. Protocol: docs/realtime.md.
//
// How a page opts in (the server renders these; live-pages.js reads them):
//   <body data-user-channel="user:123" data-username="ada">   notifications for the signed-in
//                                                            user; username marks "my" danmaku
//   <article data-live-channel="post:456" data-live-since="1732200000000-0">
//                                                            a post or room page; data-live-since
//                                                            (optional) is the newest event id
//                                                            the page already shows, so nothing
//                                                            between render and subscribe is lost
// Modules use the singleton: live.subscribe(channel, handler) → unsubscribe function;
// live.send(channel, body) → Promise. Handlers get {channel, event, id, data}. Besides the
// server's events they may get two synthetic ones, both with id "":
//   "replay.incomplete"  (from the server) events were missed: reload what the page shows
//   "live.error"         {code, message} the server refused this channel (e.g. not_found) or
//                        ended it later (the post went private, was deleted, its author blocked you), or
//                        an error arrived after its send had already been taken as accepted.
//
// The long-poll loop itself is in live-poll.js.
//
// Nothing here touches the DOM or the network at import time, so Node's test runner can
// import it; the browser environment is looked up when the first channel is subscribed.
import { ChannelPoll } from "./live-poll.js";

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
// A socket that stays up this long is healthy again: the next drop starts from a short delay.
export const STABLE_AFTER_MS = 10_000;
// Sockets that never open (a proxy without WebSocket support, a captive portal) three times
// in a row, on a page where none ever opened, mean long-polling is the way.
export const FALLBACK_AFTER_FAILED_OPENS = 3;
// The server answers a send only when it fails (rate limits and validation are checked
// before anything slow), so silence for this long means it was accepted.
export const SEND_CONFIRM_MS = 2_000;
// A handshake that hangs behind a proxy counts as a failed open rather than waiting forever.
export const OPEN_TIMEOUT_MS = 10_000;

// Errors on subscribe worth retrying; anything else (not_found, forbidden…) is final.
const RETRYABLE = new Set(["unavailable", "rate_limited"]);

/** An error from the server ({code, message, channel}) or from the connection itself. */
export class LiveError extends Error {
  constructor(code, message, channel) {
    super(message || code);
    this.name = "LiveError";
    this.code = code;
    if (channel) this.channel = channel;
  }
}

const ID_RE = /^(\d{1,20})-(\d{1,20})$/;

/** [millis, seq] as digit strings without leading zeros, or null for anything else. */
function idParts(id) {
  const match = typeof id === "string" ? ID_RE.exec(id) : null;
  if (!match) return null;
  return [match[1].replace(/^0+(?=\d)/, ""), match[2].replace(/^0+(?=\d)/, "")];
}

function compareDigits(a, b) {
  // Exact for any length: parts may exceed Number's 53 bits of precision.
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders event ids "<ms>-<seq>" numerically by parts: -1, 0 or 1. */
export function compareIds(a, b) {
  const x = idParts(a);
  const y = idParts(b);
  if (!x || !y) throw new TypeError(`not an event id: ${!x ? a : b}`);
  return compareDigits(x[0], y[0]) || compareDigits(x[1], y[1]);
}

export const isEventId = (id) => idParts(id) !== null;

/** Exponential backoff with "equal jitter": half the step is fixed, half random, so a crowd
 * reconnecting after a restart spreads out but nobody retries immediately. */
export function backoffDelay(attempt, random = Math.random) {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return step / 2 + random() * (step / 2);
}

function browserEnv() {
  const g = globalThis;
  return {
    WebSocket: g.WebSocket,
    fetch: g.fetch ? (...args) => g.fetch(...args) : undefined,
    AbortController: g.AbortController,
    // Wrapped: window.setTimeout throws "Illegal invocation" when called as another object's method.
    setTimeout: (fn, ms) => g.setTimeout(fn, ms),
    clearTimeout: (handle) => g.clearTimeout(handle),
    random: Math.random,
    now: () => Date.now(),
    baseUrl: () => g.location.href,
    window: g.window,
    document: g.document,
    isOnline: () => !g.navigator || g.navigator.onLine !== false,
  };
}

export class LiveConnection {
  /** @param env overrides for the browser environment (tests pass fakes). */
  constructor(env = {}) {
    this._envOverrides = env;
    this._env = null;
    this._handlers = new Map(); // channel → Set of handlers
    this._lastId = new Map(); // channel → newest event id seen
    this._refused = new Map(); // channel → LiveError; not resubscribed on reconnect
    this._retryTimers = new Map(); // channel → timer, after a retryable subscribe error
    this._retryStreak = new Map(); // channel → retryable subscribe errors in a row
    this._pending = []; // ops awaiting an answer, oldest first: {kind, channel, resolve, reject, timer}
    this._stateListeners = new Set();
    this._polls = new Map(); // channel → ChannelPoll
    this._ws = null;
    this._timer = null; // reconnect delay
    this._stableTimer = null;
    this._attempt = 0; // reconnects since the last stable connection
    this._failedOpens = 0; // consecutive sockets that never opened
    this._everOpened = false;
    this.mode = "websocket"; // or "polling"
    this.state = "idle"; // idle | connecting | open | waiting | polling | closed
  }

  get env() {
    return (this._env ??= { ...browserEnv(), ...this._envOverrides });
  }

  /** True when send() can work right now. */
  get canSend() { return this.state === "open"; }

  onStateChange(listener) {
    this._stateListeners.add(listener);
    return () => this._stateListeners.delete(listener);
  }

  subscribe(channel, handler, { since } = {}) {
    if (typeof channel !== "string" || typeof handler !== "function") {
      throw new TypeError("subscribe(channel: string, handler: function)");
    }
    let handlers = this._handlers.get(channel);
    const isNew = !handlers;
    if (isNew) {
      handlers = new Set();
      this._handlers.set(channel, handlers);
      if (isEventId(since) && !this._lastId.has(channel)) this._lastId.set(channel, since);
    }
    handlers.add(handler);
    if (this.state === "idle") this._start();
    else if (isNew && this.state === "open") this._subscribeOp(channel);
    else if (isNew && this.mode === "polling" && this.state !== "closed") this._startPoll(channel);
    return () => this.unsubscribe(channel, handler);
  }

  unsubscribe(channel, handler) {
    const handlers = this._handlers.get(channel);
    if (!handlers) return;
    handlers.delete(handler);
    if (handlers.size) return;
    this._handlers.delete(channel);
    this._lastId.delete(channel);
    this._refused.delete(channel);
    this._cancelRetry(channel);
    this._stopPoll(channel);
    if (this.state === "open") this._write({ op: "unsubscribe", channel });
  }

  /** Resolves when the server answers "sent" (or, from an older server, once it has had
   * SEND_CONFIRM_MS to object); rejects with a LiveError
   * carrying the server's {code, message}, or code "unsupported" / "not_connected" /
   * "disconnected" when the connection cannot carry it (the page should then fall back to
   * its plain form post, except after "disconnected", where the message may have arrived). */
  send(channel, body) {
    if (this.mode === "polling") {
      const message = "Sending needs a live connection; long-polling only receives.";
      return Promise.reject(new LiveError("unsupported", message, channel));
    }
    if (this.state !== "open") {
      return Promise.reject(new LiveError("not_connected", "Not connected.", channel));
    }
    return new Promise((resolve, reject) => {
      const op = { kind: "send", channel, resolve, reject, timer: null };
      op.timer = this.env.setTimeout(() => this._settle(op) && resolve(), SEND_CONFIRM_MS);
      this._pending.push(op);
      this._write({ op: "send", channel, body });
    });
  }

  /** Stop for good (tests, or a page being torn down). */
  close() {
    this._setState("closed");
    this.env.clearTimeout(this._timer);
    this.env.clearTimeout(this._stableTimer);
    for (const channel of [...this._retryTimers.keys()]) this._cancelRetry(channel);
    for (const channel of [...this._polls.keys()]) this._stopPoll(channel);
    const ws = this._ws;
    this._ws = null;
    this._failPending();
    if (ws) try { ws.close(1000); } catch { /* already closing */ }
  }

  // -- connection lifecycle ------------------------------------------------------------------

  _start() {
    const { window: win, document: doc } = this.env;
    // Come back at once, not at the end of a long backoff, when the network or the user does.
    win?.addEventListener?.("online", () => this._prompt());
    win?.addEventListener?.("pageshow", (event) => event.persisted && this._prompt());
    doc?.addEventListener?.("visibilitychange", () => doc.visibilityState === "visible" && this._prompt());
    this._connect();
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this._stateListeners) {
      try { listener(state); } catch (err) { reportError(err); }
    }
  }

  _connect() {
    if (this.state === "closed") return;
    const { WebSocket } = this.env;
    if (typeof WebSocket !== "function") return this._startPolling();
    const url = new URL("/ws", this.env.baseUrl());
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try { ws = new WebSocket(url.href); } catch { return this._connectFailed(false); }
    this._ws = ws;
    this._setState("connecting");
    let opened = false;
    const openTimer = this.env.setTimeout(() => !opened && ws.close(), OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      if (ws !== this._ws) return;
      opened = true;
      this.env.clearTimeout(openTimer);
      this._everOpened = true;
      this._failedOpens = 0;
      this._setState("open");
      this._stableTimer = this.env.setTimeout(() => { this._attempt = 0; }, STABLE_AFTER_MS);
      for (const channel of this._handlers.keys()) this._subscribeOp(channel);
    };
    ws.onmessage = (message) => ws === this._ws && this._onMessage(message.data);
    ws.onerror = () => {}; // a close event always follows, and carries what we need
    ws.onclose = () => {
      this.env.clearTimeout(openTimer);
      if (ws === this._ws) this._connectFailed(opened);
    };
  }

  /** Every way a socket ends up unusable (close codes 1001 and 1013 included) lands here. */
  _connectFailed(wasOpen) {
    this._ws = null;
    this.env.clearTimeout(this._stableTimer);
    this._failPending();
    if (this.state === "closed") return;
    if (!wasOpen) {
      // Failures while the device is offline say nothing about the server or a proxy.
      if (this.env.isOnline()) this._failedOpens += 1;
      if (!this._everOpened && this._failedOpens >= FALLBACK_AFTER_FAILED_OPENS) {
        return this._startPolling();
      }
    }
    const delay = backoffDelay(this._attempt, this.env.random);
    this._attempt += 1;
    this._setState("waiting");
    this._timer = this.env.setTimeout(() => { this._timer = null; this._connect(); }, delay);
  }

  _prompt() {
    if (this.state === "waiting") {
      this.env.clearTimeout(this._timer);
      this._timer = null;
      this._connect();
    } else if (this.mode === "polling") {
      for (const poll of this._polls.values()) poll.prompt();
    }
  }

  _write(message) {
    // If the socket is closing, its close event reconnects and resubscribes.
    try { this._ws.send(JSON.stringify(message)); } catch { /* see above */ }
  }

  // -- protocol ----------------------------------------------------------------------------

  _subscribeOp(channel) {
    if (this._refused.has(channel)) return;
    const message = { op: "subscribe", channel };
    const since = this._lastId.get(channel);
    if (since) message.since = since;
    this._pending.push({ kind: "subscribe", channel, resolve: null, reject: null, timer: null });
    this._write(message);
  }

  _onMessage(text) {
    let message;
    try { message = JSON.parse(text); } catch { return; } // the protocol only speaks JSON
    if (Array.isArray(message)) {
      for (const event of message) this._deliver(event);
    } else if (message?.op === "subscribed") {
      const op = this._pending.find((p) => p.kind === "subscribe" && p.channel === message.channel);
      if (op) this._settle(op);
      this._retryStreak.delete(message.channel);
    } else if (message?.op === "sent") {
      // The server stored it: no need to wait out SEND_CONFIRM_MS.
      const op = this._pending.find((p) => p.kind === "send" && p.channel === message.channel);
      if (op && this._settle(op)) op.resolve();
    } else if (message?.op === "error") {
      this._onError(new LiveError(message.code, message.message, message.channel));
    } else if (message?.op === "unsubscribed") {
      // The server ended it: the post went private or was deleted, or its author blocked us.
      // Final, like a refused subscribe: not resubscribed on reconnect.
      const error = new LiveError(message.code, message.message, message.channel);
      this._refused.set(message.channel, error);
      this._emitError(error);
    } else {
      this._deliver(message);
    }
  }

  _deliver(event) {
    if (!event || typeof event.channel !== "string" || typeof event.event !== "string") return;
    const handlers = this._handlers.get(event.channel);
    if (!handlers) return; // unsubscribed while it was on its way
    if (isEventId(event.id)) {
      const last = this._lastId.get(event.channel);
      // A replay after reconnecting may overlap what we saw: ids only grow within a channel.
      if (last && compareIds(event.id, last) <= 0) return;
      this._lastId.set(event.channel, event.id);
    }
    for (const handler of [...handlers]) {
      try { handler(event); } catch (err) { reportError(err); }
    }
  }

  _onError(error) {
    // The server handles one message at a time, so an error with a channel answers the
    // oldest op still waiting on that channel.
    const op = error.channel && this._pending.find((p) => p.channel === error.channel);
    if (!op) return this._emitError(error);
    this._settle(op);
    if (op.kind === "send") return op.reject(error);
    if (RETRYABLE.has(error.code)) return this._retrySubscribe(error.channel);
    this._refused.set(error.channel, error);
    this._emitError(error);
  }

  _emitError(error) {
    if (!error.channel || !this._handlers.has(error.channel)) {
      console.warn("live:", error.code, error.message);
      return;
    }
    const { code, message } = error;
    this._deliver({ channel: error.channel, event: "live.error", id: "", data: { code, message } });
  }

  _retrySubscribe(channel) {
    const attempt = this._retryStreak.get(channel) ?? 0;
    this._retryStreak.set(channel, attempt + 1);
    const timer = this.env.setTimeout(() => {
      this._retryTimers.delete(channel);
      if (this.state === "open" && this._handlers.has(channel)) this._subscribeOp(channel);
    }, backoffDelay(attempt, this.env.random));
    this._retryTimers.set(channel, timer);
  }

  _cancelRetry(channel) {
    this.env.clearTimeout(this._retryTimers.get(channel));
    this._retryTimers.delete(channel);
    this._retryStreak.delete(channel);
  }

  /** Removes op from the pending list; false if it was already settled. */
  _settle(op) {
    const index = this._pending.indexOf(op);
    if (index < 0) return false;
    this._pending.splice(index, 1);
    this.env.clearTimeout(op.timer);
    return true;
  }

  _failPending() {
    const pending = this._pending;
    this._pending = [];
    for (const op of pending) {
      this.env.clearTimeout(op.timer);
      // We cannot know whether the server got it; the caller must not blindly resend.
      if (op.kind !== "send") continue;
      const message = "The connection dropped; the message may not have been sent.";
      op.reject(new LiveError("disconnected", message, op.channel));
    }
    // Resubscribing every channel on reconnect retries them anyway.
    for (const timer of this._retryTimers.values()) this.env.clearTimeout(timer);
    this._retryTimers.clear();
  }

  // -- long-poll fallback --------------------------------------------------------------------

  _startPolling() {
    this.mode = "polling";
    this._setState("polling");
    for (const channel of this._handlers.keys()) this._startPoll(channel);
  }

  _startPoll(channel) {
    if (this._polls.has(channel) || this._refused.has(channel)) return;
    const poll = new ChannelPoll(this.env, channel, {
      since: () => this._lastId.get(channel),
      deliver: (event) => this._deliver(event),
      backoff: (attempt) => backoffDelay(attempt, this.env.random),
      refused: (code) => {
        this._polls.delete(channel);
        const error = new LiveError(code, "", channel);
        this._refused.set(channel, error);
        this._emitError(error);
      },
    });
    this._polls.set(channel, poll);
    poll.start();
  }

  _stopPoll(channel) {
    this._polls.get(channel)?.stop();
    this._polls.delete(channel);
  }
}

// Browsers report a handler's exception without stopping the others; Node has no reportError.
const reportError = globalThis.reportError ?? ((err) => console.error(err));

/** The page's one connection. It connects when the first channel is subscribed. */
export const live = new LiveConnection();

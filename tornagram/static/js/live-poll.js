// Long-polling one channel, for pages where a WebSocket cannot open (live.js decides when).
// GET /poll?channel=…&since=… answers {"events": [...]} at once if anything is newer than
// since, otherwise after up to 25 s, possibly with an empty list (docs/realtime.md).
// Receive-only: sending needs the socket, and the page's plain form post covers it.

// An empty answer that came back this quickly means the server did not wait; pausing keeps a
// misbehaving proxy from turning the loop into a busy loop.
export const POLL_MIN_INTERVAL_MS = 1_000;
// Answers that will not change by asking again: the channel is refused for this page.
const REFUSED = { 400: "bad_request", 401: "sign_in_required", 403: "forbidden", 404: "not_found" };

export class ChannelPoll {
  /**
   * @param env fetch, AbortController, setTimeout, clearTimeout, now, baseUrl (see live.js)
   * @param hooks since() → newest id seen or undefined; deliver(event); refused(code);
   *   backoff(attempt) → ms to wait after a failure
   */
  constructor(env, channel, hooks) {
    this.env = env;
    this.channel = channel;
    this.hooks = hooks;
    this.attempt = 0;
    this.timer = null;
    this.controller = null;
    this.stopped = false;
  }

  start() {
    this._once();
  }

  stop() {
    this.stopped = true;
    this.env.clearTimeout(this.timer);
    this.controller?.abort();
  }

  /** Ask now instead of at the end of a backoff (back online, page visible again). */
  prompt() {
    if (this.stopped || this.timer === null) return;
    this.env.clearTimeout(this.timer);
    this.timer = null;
    this._once();
  }

  async _once() {
    const { env, hooks } = this;
    const url = new URL("/poll", env.baseUrl());
    url.searchParams.set("channel", this.channel);
    const since = hooks.since();
    if (since) url.searchParams.set("since", since);
    this.controller = env.AbortController ? new env.AbortController() : null;
    const startedAt = env.now();
    let wait;
    try {
      const response = await env.fetch(url.href, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: this.controller?.signal,
      });
      if (this.stopped) return;
      if (REFUSED[response.status]) {
        this.stopped = true;
        return hooks.refused(REFUSED[response.status]);
      }
      if (!response.ok) throw new Error(`poll answered ${response.status}`);
      const { events } = await response.json();
      if (this.stopped) return;
      const list = Array.isArray(events) ? events : [];
      for (const event of list) hooks.deliver(event);
      this.attempt = 0;
      const elapsed = env.now() - startedAt;
      wait = list.length === 0 && elapsed < POLL_MIN_INTERVAL_MS ? POLL_MIN_INTERVAL_MS - elapsed : 0;
    } catch {
      if (this.stopped) return; // aborted on purpose
      wait = hooks.backoff(this.attempt);
      this.attempt += 1;
    }
    if (wait > 0) {
      this.timer = env.setTimeout(() => { this.timer = null; this._once(); }, wait);
    } else {
      this._once();
    }
  }
}

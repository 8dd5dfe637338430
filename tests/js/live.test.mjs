// The connection manager against a fake clock, a fake WebSocket and a fake fetch.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  FALLBACK_AFTER_FAILED_OPENS,
  LiveConnection,
  LiveError,
  OPEN_TIMEOUT_MS,
  SEND_CONFIRM_MS,
  STABLE_AFTER_MS,
  backoffDelay,
  compareIds,
  isEventId,
} from "../../tornagram/static/js/live.js";
import { POLL_MIN_INTERVAL_MS } from "../../tornagram/static/js/live-poll.js";
import { FakeClock, fakeFetch, fakeWebSockets, flush } from "./fakes.mjs";

function setup({ href = "https://tornagram.test/p/1", webSocket = true, random = () => 1 } = {}) {
  const clock = new FakeClock();
  const ws = fakeWebSockets();
  const http = fakeFetch();
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: "visible" });
  const network = { online: true };
  const conn = new LiveConnection({
    WebSocket: webSocket ? ws.FakeWebSocket : undefined,
    fetch: http.fetch,
    AbortController,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random,
    baseUrl: () => href,
    window: win,
    document: doc,
    isOnline: () => network.online,
  });
  const events = [];
  const record = (event) => events.push(event);
  return { clock, ws, http, win, doc, network, conn, events, record };
}

const event = (channel, id, name = "comment.created", data = {}) => ({ channel, event: name, id, data });

/** Opens the current socket and answers every subscribe it was sent. */
function openAndAck(ws) {
  const socket = ws.last();
  socket.open();
  for (const op of socket.ops("subscribe")) socket.receive({ op: "subscribed", channel: op.channel });
  return socket;
}

describe("event ids", () => {
  it("compare numerically by parts, not as strings", () => {
    assert.equal(compareIds("9-0", "10-0"), -1);
    assert.equal(compareIds("10-2", "10-10"), -1);
    assert.equal(compareIds("1732200000123-7", "1732200000123-7"), 0);
    assert.equal(compareIds("1732200000124-0", "1732200000123-99"), 1);
    assert.equal(compareIds("007-1", "7-1"), 0);
    // Past Number's 53 bits: still exact.
    assert.equal(compareIds("99999999999999999999-1", "99999999999999999998-2"), 1);
  });

  it("recognises only <ms>-<seq>", () => {
    assert.ok(isEventId("1-0"));
    for (const bad of ["", "1", "a-1", "1-", "-1", "1-2-3", null, 5]) assert.ok(!isEventId(bad), bad);
    assert.throws(() => compareIds("x", "1-0"), TypeError);
  });
});

describe("connecting", () => {
  it("opens wss: for an https page and ws: for http, on the page's host", () => {
    const a = setup({ href: "https://tornagram.test/p/1?x=1" });
    a.conn.subscribe("post:1", a.record);
    assert.equal(a.ws.last().url, "wss://tornagram.test/ws");
    const b = setup({ href: "http://localhost:8888/rooms/tea" });
    b.conn.subscribe("room:tea", b.record);
    assert.equal(b.ws.last().url, "ws://localhost:8888/ws");
  });

  it("connects lazily and subscribes every channel once open", () => {
    const { conn, ws, record } = setup();
    assert.equal(ws.sockets.length, 0);
    conn.subscribe("post:1", record);
    conn.subscribe("post:1", () => {}); // a second handler: no second subscribe
    conn.subscribe("user:7", record, { since: "5-0" });
    assert.equal(ws.sockets.length, 1);
    assert.equal(conn.state, "connecting");
    ws.last().open();
    assert.equal(conn.state, "open");
    assert.deepEqual(ws.last().ops("subscribe"), [
      { op: "subscribe", channel: "post:1" },
      { op: "subscribe", channel: "user:7", since: "5-0" },
    ]);
    conn.subscribe("room:tea", record);
    assert.deepEqual(ws.last().ops("subscribe").at(-1), { op: "subscribe", channel: "room:tea" });
  });

  it("reports its state to listeners", () => {
    const { conn, ws, record } = setup();
    const states = [];
    conn.onStateChange((state) => states.push(state));
    conn.subscribe("post:1", record);
    ws.last().open();
    ws.last().drop(1001);
    assert.deepEqual(states, ["connecting", "open", "waiting"]);
  });
});

describe("dispatch", () => {
  it("delivers single events and batches, in order, to that channel's handlers only", () => {
    const { conn, ws, events, record } = setup();
    const other = [];
    conn.subscribe("post:1", record);
    conn.subscribe("post:2", (e) => other.push(e));
    const socket = openAndAck(ws);
    socket.receive(event("post:1", "100-0"));
    socket.receive([event("post:1", "100-1"), event("post:2", "100-2"), event("post:1", "101-0")]);
    assert.deepEqual(events.map((e) => e.id), ["100-0", "100-1", "101-0"]);
    assert.deepEqual(other.map((e) => e.id), ["100-2"]);
    assert.deepEqual(events[0], event("post:1", "100-0"));
  });

  it("ignores frames that are not JSON or not events, and survives a throwing handler", (t) => {
    const { conn, ws, events, record } = setup();
    t.mock.method(console, "error", () => {});
    conn.subscribe("post:1", () => { throw new Error("page bug"); });
    conn.subscribe("post:1", record);
    const socket = openAndAck(ws);
    socket.receive("not json");
    socket.receive({ hello: "world" });
    socket.receive(event("post:1", "1-0"));
    assert.equal(events.length, 1);
  });

  it("passes replay.incomplete (id \"\") through without disturbing the last id", () => {
    const { conn, ws, events, record } = setup();
    conn.subscribe("post:1", record);
    const socket = openAndAck(ws);
    socket.receive(event("post:1", "10-0"));
    socket.receive([event("post:1", "", "replay.incomplete", { since: "10-0" }), event("post:1", "20-0")]);
    socket.receive(event("post:1", "15-0")); // older than 20-0: a duplicate
    assert.deepEqual(events.map((e) => e.event), ["comment.created", "replay.incomplete", "comment.created"]);
    assert.equal(events.at(-1).id, "20-0");
  });

  it("stops delivering after unsubscribe and tells the server when the last handler goes", () => {
    const { conn, ws, events, record } = setup();
    const off = conn.subscribe("post:1", record);
    const second = () => {};
    conn.subscribe("post:1", second);
    const socket = openAndAck(ws);
    off();
    assert.equal(socket.ops("unsubscribe").length, 0);
    conn.unsubscribe("post:1", second);
    assert.deepEqual(socket.ops("unsubscribe"), [{ op: "unsubscribe", channel: "post:1" }]);
    socket.receive(event("post:1", "1-0"));
    assert.equal(events.length, 0);
  });
});

describe("reconnecting", () => {
  it("resubscribes every channel with since and drops what it already saw", () => {
    const { conn, ws, clock, events, record } = setup();
    conn.subscribe("post:1", record);
    conn.subscribe("room:tea", record);
    let socket = openAndAck(ws);
    socket.receive([event("post:1", "100-0"), event("post:1", "100-1"), event("room:tea", "90-5")]);
    socket.drop(1013); // backpressure: the server closed us
    assert.equal(conn.state, "waiting");
    clock.advance(clock.pending()[0]);
    assert.equal(ws.sockets.length, 2);
    socket = ws.last();
    socket.open();
    assert.deepEqual(socket.ops("subscribe"), [
      { op: "subscribe", channel: "post:1", since: "100-1" },
      { op: "subscribe", channel: "room:tea", since: "90-5" },
    ]);
    // The replay overlaps what we had (a server may resend the boundary): no duplicates.
    socket.receive([event("post:1", "100-0"), event("post:1", "100-1"), event("post:1", "100-2")]);
    socket.receive(event("room:tea", "90-5"));
    socket.receive(event("room:tea", "91-0"));
    assert.deepEqual(events.map((e) => e.id), ["100-0", "100-1", "90-5", "100-2", "91-0"]);
  });

  it("waits with growing, jittered, capped delays, and starts over once a connection held", () => {
    const { conn, ws, clock, record } = setup({ random: () => 1 });
    conn.subscribe("post:1", record);
    ws.last().open(); // it worked once, so failures below never mean "use long-polling"
    const delays = [];
    for (let i = 0; i < 10; i++) {
      ws.last().drop(1006);
      const [delay] = clock.pending();
      delays.push(delay);
      clock.advance(delay);
      ws.last().drop(1006); // fails to open again
      clock.advance(clock.pending()[0]);
    }
    // Every other failure was recorded; with random() = 1 the delay is the full step.
    const steps = [];
    for (let i = 0; i < 20; i += 2) steps.push(Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** i));
    assert.deepEqual(delays, steps);
    assert.equal(conn.state, "connecting");
    // Now a connection stays up: the next drop waits only the first step again.
    ws.last().open();
    clock.advance(STABLE_AFTER_MS);
    ws.last().drop(1001);
    assert.deepEqual(clock.pending(), [BACKOFF_BASE_MS]);
  });

  it("does not reset the delay for a connection that drops at once", () => {
    const { conn, ws, clock, record } = setup({ random: () => 1 });
    conn.subscribe("post:1", record);
    for (let i = 0; i < 4; i++) {
      ws.last().open();
      clock.advance(STABLE_AFTER_MS - 1);
      ws.last().drop(1013);
      if (i < 3) clock.advance(clock.pending()[0]);
    }
    assert.deepEqual(clock.pending(), [BACKOFF_BASE_MS * 8]);
  });

  it("keeps jitter within [step/2, step]", () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
      assert.equal(backoffDelay(attempt, () => 0), step / 2);
      assert.equal(backoffDelay(attempt, () => 1), step);
      const d = backoffDelay(attempt);
      assert.ok(d >= step / 2 && d <= step);
    }
    assert.equal(backoffDelay(1000, () => 1), BACKOFF_MAX_MS);
  });

  it("reconnects at once when the browser comes online or the page becomes visible", () => {
    const { conn, ws, clock, win, doc, record } = setup();
    conn.subscribe("post:1", record);
    ws.last().open();
    for (let i = 0; i < 6; i++) { ws.last().drop(1006); clock.advance(clock.pending()[0]); ws.last().open(); }
    ws.last().drop(1006);
    assert.equal(conn.state, "waiting");
    const before = ws.sockets.length;
    win.dispatchEvent(new Event("online"));
    assert.equal(ws.sockets.length, before + 1);
    assert.equal(conn.state, "connecting");
    ws.last().drop(1006);
    doc.visibilityState = "hidden";
    doc.dispatchEvent(new Event("visibilitychange"));
    assert.equal(ws.sockets.length, before + 1, "hiding the page does not reconnect");
    doc.visibilityState = "visible";
    doc.dispatchEvent(new Event("visibilitychange"));
    assert.equal(ws.sockets.length, before + 2);
    assert.equal(clock.pending().length, 1, "only the open timeout is pending: the delay is gone");
  });

  it("gives up on a handshake that hangs", () => {
    const { conn, ws, clock, record } = setup();
    conn.subscribe("post:1", record);
    clock.advance(OPEN_TIMEOUT_MS);
    assert.equal(ws.sockets[0].closedWith, 1000);
    assert.equal(conn.state, "waiting");
  });
});

describe("long-poll fallback", () => {
  function failOpens(ws, clock, times) {
    for (let i = 0; i < times; i++) {
      ws.last().drop(1006);
      if (clock.pending().length && i < times - 1) clock.advance(Math.max(...clock.pending()));
    }
  }

  it(`switches after ${FALLBACK_AFTER_FAILED_OPENS} failed opens and polls each channel with since`, async () => {
    const { conn, ws, http, clock, events, record } = setup();
    conn.subscribe("post:1", record, { since: "50-0" });
    conn.subscribe("user:7", record);
    failOpens(ws, clock, FALLBACK_AFTER_FAILED_OPENS);
    assert.equal(ws.sockets.length, FALLBACK_AFTER_FAILED_OPENS);
    assert.equal(conn.mode, "polling");
    assert.equal(conn.state, "polling");
    assert.equal(http.requests.length, 2);
    const [post, user] = http.requests;
    assert.equal(post.url.href, "https://tornagram.test/poll?channel=post%3A1&since=50-0");
    assert.equal(user.url.searchParams.get("channel"), "user:7");
    assert.equal(user.url.searchParams.has("since"), false);
    assert.equal(post.init.credentials, "same-origin");

    clock.advance(30); // the server held the poll a while, then answered
    post.respond(200, { events: [event("post:1", "50-0"), event("post:1", "51-0"), event("post:1", "52-0")] });
    await flush();
    assert.deepEqual(events.map((e) => e.id), ["51-0", "52-0"]);
    assert.equal(http.requests.length, 3, "polls again at once after events");
    assert.equal(http.requests[2].url.searchParams.get("since"), "52-0");

    user.respond(200, { events: [] }); // quick and empty: pause before asking again
    await flush();
    assert.equal(http.requests.length, 3);
    clock.advance(POLL_MIN_INTERVAL_MS);
    await flush();
    assert.equal(http.requests.length, 4);

    http.requests[3].fail(); // network trouble: back off
    await flush();
    assert.equal(http.requests.length, 4);
    clock.advance(BACKOFF_BASE_MS);
    await flush();
    assert.equal(http.requests.length, 5);
  });

  it("polls directly where there is no WebSocket, and refuses to send", async () => {
    const { conn, http, record } = setup({ webSocket: false });
    conn.subscribe("room:tea", record);
    assert.equal(conn.mode, "polling");
    assert.equal(http.requests.length, 1);
    await assert.rejects(conn.send("room:tea", "hi"), (err) => err instanceof LiveError && err.code === "unsupported");
    assert.equal(conn.canSend, false);
  });

  it("starts polling channels subscribed later, and stops polling unsubscribed ones", async () => {
    const { conn, http, events, record } = setup({ webSocket: false });
    conn.subscribe("post:1", record);
    const off = conn.subscribe("post:2", record);
    assert.equal(http.requests.length, 2);
    off();
    http.requests[1].respond(200, { events: [event("post:2", "1-0")] });
    await flush();
    assert.equal(events.length, 0);
    assert.equal(http.requests.length, 2);
  });

  it("stops on 403/404 and tells the handlers", async () => {
    const { conn, http, events, record } = setup({ webSocket: false });
    conn.subscribe("user:8", record);
    http.requests[0].respond(403, {});
    await flush();
    assert.equal(http.requests.length, 1);
    assert.equal(events[0].event, "live.error");
    assert.equal(events[0].data.code, "forbidden");
  });

  it("does not fall back when sockets worked before, nor count failures while offline", () => {
    const { conn, ws, clock, network, record } = setup();
    conn.subscribe("post:1", record);
    network.online = false;
    failOpens(ws, clock, 5);
    assert.equal(conn.mode, "websocket");
    network.online = true;
    clock.advance(clock.pending()[0]);
    ws.last().open();
    failOpens(ws, clock, 6);
    assert.equal(conn.mode, "websocket");
  });
});

describe("send", () => {
  it("resolves when the server has not objected in time", async () => {
    const { conn, ws, clock, record } = setup();
    conn.subscribe("post:1", record);
    const socket = openAndAck(ws);
    let done = false;
    const sent = conn.send("post:1", "so pretty!").then(() => { done = true; });
    assert.deepEqual(socket.ops("send"), [{ op: "send", channel: "post:1", body: "so pretty!" }]);
    clock.advance(SEND_CONFIRM_MS - 1);
    await flush();
    assert.equal(done, false);
    clock.advance(1);
    await sent;
    assert.equal(done, true);
  });

  it("resolves at once when the server answers sent", async () => {
    const { conn, ws, record } = setup();
    conn.subscribe("post:1", record);
    const socket = openAndAck(ws);
    let done = false;
    const sent = conn.send("post:1", "quick").then(() => { done = true; });
    socket.receive({ op: "sent", channel: "post:1" });
    await sent;
    assert.equal(done, true);
  });

  it("rejects with the server's error for that channel", async () => {
    const { conn, ws, record } = setup();
    conn.subscribe("room:tea", record);
    conn.subscribe("post:1", record);
    const socket = openAndAck(ws);
    const toPost = conn.send("post:1", "a");
    const toRoom = conn.send("room:tea", "b");
    socket.receive({ op: "error", code: "rate_limited", message: "You're sending messages too fast.", channel: "room:tea" });
    await assert.rejects(toRoom, { code: "rate_limited", message: "You're sending messages too fast.", channel: "room:tea" });
    socket.receive({ op: "error", code: "invalid", message: "Too long.", channel: "post:1" });
    await assert.rejects(toPost, { code: "invalid" });
  });

  it("rejects at once when not connected, and as disconnected when the socket drops", async () => {
    const { conn, ws, record } = setup();
    conn.subscribe("post:1", record);
    await assert.rejects(conn.send("post:1", "x"), { code: "not_connected" });
    openAndAck(ws);
    const pending = conn.send("post:1", "x");
    ws.last().drop(1001);
    await assert.rejects(pending, { code: "disconnected" });
  });

  it("hands a late error to the channel's handlers", () => {
    const { conn, ws, events, record } = setup();
    conn.subscribe("room:tea", record);
    const socket = openAndAck(ws);
    socket.receive({ op: "error", code: "rate_limited", message: "Slow down.", channel: "room:tea" });
    assert.deepEqual(events, [{ channel: "room:tea", event: "live.error", id: "", data: { code: "rate_limited", message: "Slow down." } }]);
  });
});

describe("subscribe errors", () => {
  it("a refused channel is reported and not resubscribed on reconnect", () => {
    const { conn, ws, clock, events, record } = setup();
    conn.subscribe("post:404", record);
    conn.subscribe("post:1", record);
    const socket = ws.last();
    socket.open();
    socket.receive({ op: "error", code: "not_found", message: "No such post.", channel: "post:404" });
    socket.receive({ op: "subscribed", channel: "post:1" });
    assert.equal(events[0].event, "live.error");
    assert.equal(events[0].data.code, "not_found");
    socket.drop(1001);
    clock.advance(clock.pending()[0]);
    ws.last().open();
    assert.deepEqual(ws.last().ops("subscribe").map((op) => op.channel), ["post:1"]);
  });

  it("a channel the server ends later is reported and not resubscribed", () => {
    const { conn, ws, clock, events, record } = setup();
    conn.subscribe("post:7", record);
    conn.subscribe("post:1", record);
    const socket = ws.last();
    socket.open();
    socket.receive({ op: "subscribed", channel: "post:7" });
    socket.receive({ op: "subscribed", channel: "post:1" });
    // The post went private: the server unsubscribed this viewer and says why.
    socket.receive({ op: "unsubscribed", code: "not_found", message: "Gone.", channel: "post:7" });
    assert.deepEqual(events, [{ channel: "post:7", event: "live.error", id: "", data: { code: "not_found", message: "Gone." } }]);
    socket.drop(1001);
    clock.advance(clock.pending()[0]);
    ws.last().open();
    assert.deepEqual(ws.last().ops("subscribe").map((op) => op.channel), ["post:1"]);
  });

  it("retries a subscribe the server could not serve just now", () => {
    const { conn, ws, clock, events, record } = setup({ random: () => 1 });
    conn.subscribe("room:tea", record);
    const socket = ws.last();
    socket.open();
    socket.receive({ op: "error", code: "unavailable", message: "Try again.", channel: "room:tea" });
    assert.equal(events.length, 0, "a passing outage is not the page's business");
    assert.equal(socket.ops("subscribe").length, 1);
    clock.advance(BACKOFF_BASE_MS);
    assert.equal(socket.ops("subscribe").length, 2);
    socket.receive({ op: "error", code: "unavailable", message: "Try again.", channel: "room:tea" });
    clock.advance(BACKOFF_BASE_MS);
    assert.equal(socket.ops("subscribe").length, 2, "the second retry waits longer");
    clock.advance(BACKOFF_BASE_MS);
    assert.equal(socket.ops("subscribe").length, 3);
  });
});

describe("close", () => {
  it("stops for good", () => {
    const { conn, ws, clock, record } = setup();
    conn.subscribe("post:1", record);
    openAndAck(ws);
    conn.close();
    assert.equal(ws.last().closedWith, 1000);
    clock.advance(BACKOFF_MAX_MS * 2);
    assert.equal(ws.sockets.length, 1);
    assert.equal(conn.state, "closed");
  });
});

// The page glue, run against a fake DOM and a real LiveConnection on a fake socket: what the
// server renders (the DOM contract at the top of live-pages.js) in, what the reader sees out.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { LiveConnection } from "../../tornagram/static/js/live.js";
import {
  MESSAGE_LIST_MAX,
  PresenceCounter,
  buildMessage,
  formatCount,
  insertComment,
  startLivePages,
} from "../../tornagram/static/js/live-pages.js";
import { FakeClock, FakeDocument, fakeWebSockets, flush } from "./fakes.mjs";

function connection() {
  const clock = new FakeClock();
  const ws = fakeWebSockets();
  const conn = new LiveConnection({
    WebSocket: ws.FakeWebSocket,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 1,
    baseUrl: () => "https://tornagram.test/",
    window: new EventTarget(),
    document: new EventTarget(),
    isOnline: () => true,
  });
  return { clock, ws, conn };
}

const author = { username: "ada", name: "Ada", avatar: null };

function postPage({ username = "ada", userChannel = "user:1" } = {}) {
  const doc = new FakeDocument();
  if (userChannel) doc.body.setAttribute("data-user-channel", userChannel);
  if (username) doc.body.setAttribute("data-username", username);
  doc.body.setAttribute("data-msg-dismiss", "关闭");
  const badge = doc.h("span", { class: "badge", "data-unread-badge": "", hidden: "" });
  const list = doc.h("ul", { "data-comment-list": "" },
    doc.h("li", { id: "c1", class: "comment" }, "first", doc.h("ul", { "data-replies": "" })));
  const input = doc.h("textarea", { name: "body" });
  const form = doc.h("form", { "data-live-comment-form": "", "data-msg-disconnected": "连接中断" }, input,
    doc.h("p", { "data-send-error": "", hidden: "" }));
  const toggle = doc.h("button", { "data-danmaku-toggle": "", "aria-pressed": "true" });
  const photo = doc.h("div", { class: "carousel", "data-danmaku-stage": "" }, toggle);
  const likes = doc.h("a", { "data-like-count": "1", "data-zero": "还没有人赞", "data-one": "1 个赞",
    "data-many": "%(count)s 个赞" }, "1 个赞");
  const article = doc.h("article", { "data-live-channel": "post:42", "data-live-since": "7-0" }, photo, likes, list, form);
  doc.body.append(doc.h("nav", {}, badge), article);
  return { doc, badge, list, form, input, photo, toggle, likes };
}

function roomPage() {
  const doc = new FakeDocument();
  doc.body.setAttribute("data-username", "bo");
  const presence = doc.h("span", { "data-presence": "", "data-label": "%(count)d 人在看", "data-initial": "1" }, "1 人在看");
  const stage = doc.h("div", { "data-room-stage": "", "data-danmaku-stage": "" });
  const list = doc.h("ol", { "data-message-list": "" }, doc.h("li", { id: "m5", class: "message" }, "old"));
  const input = doc.h("input", { name: "body" });
  const error = doc.h("p", { "data-send-error": "", role: "alert" });
  const form = doc.h("form", { "data-live-send-form": "" }, input, error);
  doc.body.append(doc.h("article", { "data-live-channel": "room:tea" }, presence, stage, list, form));
  return { doc, presence, stage, list, form, input, error };
}

/** Opens the socket and answers its subscribes, as the server does before reading on. */
function openAndAck(ws) {
  const socket = ws.last();
  socket.open();
  for (const op of socket.ops("subscribe")) socket.receive({ op: "subscribed", channel: op.channel });
  return socket;
}

function submit(form) {
  const event = new Event("submit", { cancelable: true });
  form.dispatchEvent(event);
  return event.defaultPrevented;
}

describe("helpers", () => {
  it("formats the server's label", () => {
    assert.equal(formatCount("%(count)d watching", 3), "3 watching");
    assert.equal(formatCount("%(count)d 人在看", 12), "12 人在看");
    assert.equal(formatCount("%d here", 2), "2 here");
    assert.equal(formatCount(undefined, 2), "2");
  });

  it("adds up the latest figure from each server process", () => {
    const counter = new PresenceCounter();
    assert.equal(counter.update("a:1", 3), 3);
    assert.equal(counter.update("b:2", 4), 7);
    assert.equal(counter.update("a:1", 1), 5);
    assert.equal(counter.update("b:2", "junk"), 5);
    assert.equal(counter.update(undefined, 9), 5);
  });

  it("builds a room message from text only", () => {
    const doc = new FakeDocument();
    const item = buildMessage(doc, { id: "9", body: "<b>hi</b>", author: { username: "eve<script>" } });
    assert.equal(item.id, "m9");
    assert.equal(item.querySelector(".message-body").textContent, "<b>hi</b>");
    assert.equal(item.querySelector(".message-author").href, "/@eve%3Cscript%3E");
  });

  it("inserts a comment once, text with its author where the page has no template", () => {
    const { doc, list } = postPage();
    assert.equal(insertComment(doc, list, { id: "2", html: "nice <a href=\"/t/x\">#x</a>", author }), true);
    const item = doc.getElementById("c2");
    assert.equal(item.parentNode, list);
    assert.equal(item.querySelector(".post-author").textContent, "ada");
    assert.equal(insertComment(doc, list, { id: "2", html: "again", author }), false);
    insertComment(doc, list, { id: "3", parent_id: "1", html: "reply", author });
    assert.equal(doc.getElementById("c3").parentNode, doc.querySelector("[data-replies]"));
    assert.match(doc.getElementById("c3").textContent, /reply/);
  });
});

describe("post page", () => {
  it("subscribes with since, lists new comments and flies them over the photo", () => {
    const { doc, list, photo } = postPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    const socket = ws.last();
    socket.open();
    assert.deepEqual(socket.ops("subscribe"), [
      { op: "subscribe", channel: "user:1" },
      { op: "subscribe", channel: "post:42", since: "7-0" },
    ]);
    assert.equal(doc.documentElement.dataset.live, "open");
    const created = (id, body, who = author) => ({ channel: "post:42", event: "comment.created", id: `${10 + Number(id)}-0`, data: { id, post_id: "42", body, html: body, author: who } });
    socket.receive([created("2", "so pretty"), created("1", "first")]); // c1 is on the page already
    assert.equal(list.children.length, 2);
    assert.ok(doc.getElementById("c2"));
    const layer = photo.querySelector(".danmaku-layer");
    assert.equal(doc.animations.length, 1, "only the new comment flies");
    assert.equal(doc.animations[0].el.parentNode, layer);
    assert.ok(doc.animations[0].el.classList.contains("danmaku-self"), "ada is the reader");
    socket.receive(created("3", "hello", { username: "bo" }));
    assert.ok(!doc.animations[1].el.classList.contains("danmaku-self"));
    socket.receive({ channel: "post:42", event: "comment.deleted", id: "20-0", data: { id: "2", post_id: "42" } });
    assert.equal(doc.getElementById("c2"), null);
  });

  it("shows the like count as others like and unlike, in the page's own words", () => {
    const { doc, likes } = postPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    const socket = openAndAck(ws);
    const liked = (id, count) =>
      socket.receive({ channel: "post:42", event: "like.changed", id, data: { post_id: "42", count } });
    liked("21-0", 1234);
    assert.equal(likes.textContent, "1,234 个赞");
    assert.equal(likes.dataset.likeCount, "1234");
    liked("22-0", 0);
    assert.equal(likes.textContent, "还没有人赞");
    liked("23-0", "nonsense");
    assert.equal(likes.textContent, "还没有人赞", "a malformed count changes nothing");
  });

  it("sends the comment over the socket, and shows the server's refusal by the form", async () => {
    const { doc, form, input } = postPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    openAndAck(ws);
    input.value = "lovely";
    assert.equal(submit(form), true, "the plain post is replaced");
    assert.equal(input.value, "", "cleared at once, the comment is on its way");
    assert.deepEqual(ws.last().ops("send"), [{ op: "send", channel: "post:42", body: "lovely" }]);
    ws.last().receive({ op: "error", code: "rate_limited", message: "太快了", channel: "post:42" });
    await flush();
    assert.equal(input.value, "lovely", "given back to retry");
    const error = form.querySelector("[data-send-error]");
    assert.equal(error.textContent, "太快了");
    assert.equal(error.hidden, false);
  });

  it("falls back to the plain form post when there is no live connection", () => {
    const { doc, form, input } = postPage();
    const { conn } = connection();
    startLivePages(doc, conn); // the socket never opens
    input.value = "hi";
    assert.equal(submit(form), false);
    const reply = doc.h("input", { name: "parent_id" });
    reply.value = "1";
    form.append(reply);
    assert.equal(submit(form), false, "replies always post the plain way");
  });

  it("says so by the form when the connection drops mid-send", async () => {
    const { doc, form, input } = postPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    ws.last().open();
    input.value = "x";
    submit(form);
    ws.last().drop(1001);
    await flush();
    assert.equal(form.querySelector("[data-send-error]").textContent, "连接中断");
    assert.equal(doc.submitted.length, 0, "never posted twice behind the reader's back");
  });

  it("toggles danmaku for the page", (t) => {
    const store = new Map();
    globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
    t.after(() => { delete globalThis.localStorage; });
    const { doc, photo, toggle } = postPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    ws.last().open();
    toggle.click();
    assert.equal(toggle.getAttribute("aria-pressed"), "false");
    assert.ok(photo.classList.contains("danmaku-off"));
    ws.last().receive({ channel: "post:42", event: "comment.created", id: "30-0", data: { id: "9", body: "b", html: "b", author } });
    assert.ok(doc.getElementById("c9"), "the list still updates");
    assert.equal(doc.animations.length, 0);
  });
});

describe("notifications", () => {
  it("updates every unread badge and shows an accessible toast linking the post", () => {
    const { doc, badge } = postPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    ws.last().open();
    const region = doc.querySelector(".live-toasts");
    assert.equal(region.getAttribute("role"), "status");
    assert.equal(region.getAttribute("aria-live"), "polite");
    const notify = (id, data) => ws.last().receive({ channel: "user:1", event: "notification.created", id, data });
    notify("1-0", { kind: "like", unread: 3, text: "bo 赞了你的照片", post_id: "77", actor: author });
    assert.equal(badge.textContent, "3");
    assert.equal(badge.hidden, false);
    const toast = region.children[0];
    assert.equal(toast.querySelector("a").href, "/p/77");
    assert.equal(toast.querySelector(".live-toast-text").textContent, "bo 赞了你的照片");
    assert.equal(toast.querySelector("button").getAttribute("aria-label"), "关闭");
    toast.querySelector("button").click();
    assert.equal(region.children.length, 0);
    notify("2-0", { kind: "follow", unread: 0, text: "bo 关注了你", post_id: null, actor: author });
    assert.equal(badge.hidden, true);
    assert.equal(region.children[0].querySelector("a"), null);
    notify("3-0", { kind: "follow", unread: 120, text: "t", post_id: null, actor: author });
    assert.equal(badge.textContent, "99+");
    // Read in another tab: the badge here goes too, and no toast is shown for it.
    const toasts = region.children.length;
    ws.last().receive({ channel: "user:1", event: "notifications.read", id: "4-0", data: { unread: 0 } });
    assert.equal(badge.hidden, true);
    assert.equal(region.children.length, toasts);
    for (const toastLeft of [...region.children]) toastLeft.querySelector("button").click(); // no stray timers
  });

  it("does not toast what the page already shows live", () => {
    const { doc, badge } = postPage(); // the page of post 42, watched live
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    ws.last().open();
    const region = doc.querySelector(".live-toasts");
    const notify = (id, data) => ws.last().receive({ channel: "user:1", event: "notification.created", id, data });
    for (const n of [1, 2, 3]) {
      notify(`${n}-0`, { kind: "comment", unread: n, text: "bo commented on your photo.", excerpt: `nice ${n}`, post_id: "42", actor: author });
    }
    assert.equal(region.children.length, 0, "the comments are in the list and fly over the photo");
    assert.equal(badge.textContent, "3", "they still count as unread");
  });

  it("groups news about one photo into one toast that quotes the latest comment", () => {
    const { doc } = postPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    ws.last().open();
    const region = doc.querySelector(".live-toasts");
    const notify = (id, data) => ws.last().receive({ channel: "user:1", event: "notification.created", id, data });
    notify("1-0", { kind: "comment", unread: 1, text: "bo commented on your photo.", excerpt: "<b>so</b> pretty", post_id: "77", actor: author });
    const toast = region.children[0];
    assert.equal(toast.querySelector(".live-toast-quote").textContent, "<b>so</b> pretty"); // text, not markup
    assert.equal(toast.querySelector(".live-toast-count").hidden, true);
    notify("2-0", { kind: "comment", unread: 2, text: "cy commented on your photo.", excerpt: "wow", post_id: "77", actor: author });
    notify("3-0", { kind: "like", unread: 3, text: "cy liked your photo.", post_id: "77", actor: author });
    assert.equal(region.children.length, 2, "comments grouped; the like is other news");
    assert.equal(toast.querySelector(".live-toast-text").textContent, "cy commented on your photo.");
    assert.equal(toast.querySelector(".live-toast-quote").textContent, "wow");
    assert.equal(toast.querySelector(".live-toast-count").textContent, "×2");
    assert.equal(toast.querySelector(".live-toast-count").hidden, false);
    for (const left of [...region.children]) left.querySelector("button").click();
    assert.equal(region.children.length, 0);
    notify("4-0", { kind: "comment", unread: 4, text: "dee commented on your photo.", excerpt: "again", post_id: "77", actor: author });
    assert.equal(region.children[0].querySelector(".live-toast-count").hidden, true, "a dismissed group starts afresh");
    region.children[0].querySelector("button").click();
  });

  it("stays quiet for anonymous readers", () => {
    const { doc } = postPage({ userChannel: null, username: null });
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    ws.last().open();
    assert.deepEqual(ws.last().ops("subscribe").map((op) => op.channel), ["post:42"]);
    assert.equal(doc.querySelector(".live-toasts"), null);
  });
});

describe("room page", () => {
  it("appends messages as text, flies them, and counts viewers across nodes", () => {
    const { doc, list, presence } = roomPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    const socket = ws.last();
    socket.open();
    const message = (id, body, username = "ada") => ({ channel: "room:tea", event: "message.created", id: `${id}-0`, data: { id: String(id), room: "tea", body, author: { username } } });
    socket.receive([message(5, "old"), message(6, "<i>hi</i>"), message(7, "me", "bo")]);
    assert.deepEqual(list.children.map((li) => li.id), ["m5", "m6", "m7"]);
    assert.equal(doc.getElementById("m6").querySelector(".message-body").textContent, "<i>hi</i>");
    assert.equal(doc.animations.length, 2);
    assert.ok(doc.animations[1].el.classList.contains("danmaku-self"));
    const presenceEvent = (id, node, watching) => ({ channel: "room:tea", event: "presence.changed", id: `${id}-0`, data: { node, watching } });
    socket.receive(presenceEvent(10, "web1:100", 2));
    assert.equal(presence.textContent, "2 人在看");
    socket.receive([presenceEvent(11, "web2:200", 5), presenceEvent(12, "web1:100", 3)]);
    assert.equal(presence.textContent, "8 人在看");
  });

  it("keeps the list bounded in a long session", () => {
    const { doc, list } = roomPage();
    doc.hidden = true; // a background tab: the list updates, nothing flies
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    ws.last().open();
    const batch = [];
    for (let i = 100; i < 100 + MESSAGE_LIST_MAX + 20; i++) {
      batch.push({ channel: "room:tea", event: "message.created", id: `${i}-0`, data: { id: String(i), body: "x", author } });
    }
    ws.last().receive(batch);
    assert.equal(list.children.length, MESSAGE_LIST_MAX);
    assert.equal(list.children.at(-1).id, `m${100 + MESSAGE_LIST_MAX + 19}`);
    assert.equal(doc.animations.length, 0);
  });

  it("shows the server's error next to the send form", async () => {
    const { doc, form, input, error } = roomPage();
    const { ws, conn } = connection();
    startLivePages(doc, conn);
    openAndAck(ws);
    input.value = "x".repeat(600);
    submit(form);
    ws.last().receive({ op: "error", code: "invalid", message: "最多 500 个字符。", channel: "room:tea" });
    await flush();
    assert.equal(error.textContent, "最多 500 个字符。");
    assert.equal(input.value, "x".repeat(600));
    input.value = "ok";
    submit(form);
    assert.equal(error.textContent, "", "a new attempt clears the old error");
  });

  it("reloads the list after replay.incomplete", async (t) => {
    const { doc } = roomPage();
    const { ws, conn } = connection();
    const requested = [];
    t.mock.method(globalThis, "fetch", async (url) => { requested.push(url); return { ok: false }; });
    startLivePages(doc, conn);
    ws.last().open();
    ws.last().receive({ channel: "room:tea", event: "replay.incomplete", id: "", data: { since: "1-0" } });
    await flush();
    assert.deepEqual(requested, ["https://tornagram.test/"]);
  });
});

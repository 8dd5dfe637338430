// Page glue for live events, loaded on every page. It only reads what the server rendered
// (the DOM contract is below) and does nothing on pages without it. Every string the user
// sees comes from the server, already translated: event data, error messages, or data-*
// attributes; English here is only a last-resort fallback.
//
//   <body data-user-channel="user:<id>" data-username="<name>" data-msg-dismiss="…">
//     [data-unread-badge]          unread count in the nav (text set, hidden at 0); any number
//   [data-live-channel="post:<id>"] [data-live-since="<event id>"] [data-post-owner="<name>"]
//     template[data-comment-template]  one comment as the page draws them, with stand-ins
//                                  (data-template-id/-name/-avatar); template[data-avatar-template]
//     [data-danmaku-stage]         the photo wrapper comments fly over
//     [data-like-count data-zero data-one data-many]  the "N likes" line (like.changed)
//     [data-comment-list]          items with id="c<comment id>"; replies may nest in the
//                                  parent's [data-replies]
//     form[data-live-comment-form] field name="body", optional [data-send-error],
//                                  optional data-msg-disconnected="…"
//   [data-live-channel="room:<slug>"]
//     [data-room-stage]            the cover photo comments fly over
//     [data-message-list]          items with id="m<message id>"
//     [data-presence data-label="%(count)d watching" data-initial="3"]
//     form[data-live-send-form]    field name="body", optional [data-send-error]
//   button[data-danmaku-toggle aria-pressed]  anywhere: turns danmaku on/off for the page
import { live } from "./live.js";
import { Danmaku, wireDanmakuToggles } from "./danmaku.js";
import { setLikeCount } from "./like-count.js";

export const TOAST_SHOW_MS = 6_000;
export const TOAST_MAX = 3;
// A room left open all day would otherwise grow its list without bound.
export const MESSAGE_LIST_MAX = 300;
// Transport failures where the plain form post is the right fallback (nothing was sent).
const FORM_FALLBACK_CODES = new Set(["not_connected", "unsupported"]);

/** Fills a server-translated label such as "%(count)d watching" (or "%d watching"). */
export function formatCount(label, count) {
  const text = label || "%(count)d";
  const n = String(count);
  return text.includes("%(count)d") ? text.replaceAll("%(count)d", n) : text.replace("%d", n);
}

/** "N watching" across server processes: the latest figure from each node, added up. */
export class PresenceCounter {
  constructor() {
    this.byNode = new Map();
  }

  update(node, watching) {
    const count = Number(watching);
    if (typeof node === "string" && Number.isFinite(count)) this.byNode.set(node, Math.max(0, count));
    return this.total;
  }

  get total() {
    let sum = 0;
    for (const count of this.byNode.values()) sum += count;
    return sum;
  }
}

export const profileUrl = (username) => `/@${encodeURIComponent(username)}`;

/** A room message as the server renders it, built from plain text only. */
export function buildMessage(doc, data) {
  const item = doc.createElement("li");
  item.className = "message";
  item.id = `m${data.id}`;
  const author = doc.createElement("a");
  author.className = "message-author";
  author.href = profileUrl(data.author?.username ?? "");
  author.textContent = data.author?.username ?? "";
  const body = doc.createElement("span");
  body.className = "message-body";
  body.textContent = data.body ?? "";
  item.append(author, " ", body);
  return item;
}

/** Replaces every stand-in in the attributes and text of node's subtree (no HTML parsed). */
function fillStandIns(doc, node, pairs) {
  const swap = (text) => pairs.reduce((acc, [from, to]) => (from ? acc.replaceAll(from, to) : acc), text);
  for (const el of [node, ...node.querySelectorAll("*")]) {
    for (const attr of [...el.attributes]) {
      const value = swap(attr.value);
      if (value !== attr.value) el.setAttribute(attr.name, value);
    }
  }
  const walker = doc.createTreeWalker(node, 4 /* NodeFilter.SHOW_TEXT */);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const value = swap(text.data);
    if (value !== text.data) text.data = value;
  }
}

/**
 * A comment drawn from the page's own <template data-comment-template>: the server's
 * comment.html rendered for this viewer with stand-in values, so a live comment has the same
 * avatar, name, time, Reply and Delete, in the same markup, as after a reload. Only plain
 * values from the event are put in (setAttribute / text); data.html is the server's escaped
 * rendering of the text, parsed into an inert template. Null without a template.
 */
export function buildComment(doc, data, { owner } = {}) {
  const template = doc.querySelector("template[data-comment-template]");
  const first = template?.content.firstElementChild;
  if (!first) return null;
  const item = first.cloneNode(true);
  const username = String(data.author?.username ?? "");
  const avatar = data.author?.avatar ? String(data.author.avatar) : "";
  const pairs = [
    [template.dataset.templateId, String(data.id)],
    [template.dataset.templateName, username],
    [template.dataset.templateAvatar, avatar],
  ];
  if (!avatar) {
    // No photo: the letter-on-colour form, from its own template.
    const letter = doc.querySelector("template[data-avatar-template]")?.content.firstElementChild;
    const photo = item.querySelector(".avatar-link, .avatar");
    if (letter && photo) {
      const stand = letter.cloneNode(true);
      const initial = stand.matches("[data-hue]") ? stand : stand.querySelector("[data-hue]");
      if (initial) {
        initial.textContent = String(data.author?.initial ?? username.slice(0, 1).toUpperCase());
        initial.dataset.hue = String(Number(data.author?.hue) || 0);
      }
      photo.replaceWith(stand);
    }
  }
  fillStandIns(doc, item, pairs);
  const text = item.querySelector("[data-comment-text]");
  if (text) {
    const body = doc.createElement("template");
    body.innerHTML = String(data.html ?? "");
    text.append(body.content);
  }
  const time = item.querySelector("time");
  if (time && data.created_at) {
    time.setAttribute("datetime", String(data.created_at));
    const when = new Date(data.created_at);
    if (!Number.isNaN(when.getTime())) time.title = when.toLocaleString(doc.documentElement.lang || undefined);
  }
  item.querySelector("[data-reply-to]")?.setAttribute("data-reply-to", String(data.parent_id || data.id));
  const me = doc.body.dataset.username;
  // Delete is drawn as if the viewer wrote it; it stays for their own comments and their posts.
  if (!(me && (me === username || me === owner))) item.querySelector("[data-comment-delete]")?.remove();
  // Report is drawn too; nobody reports their own comment.
  if (!me || me === username) item.querySelector("[data-comment-report]")?.remove();
  if (data.parent_id) {
    item.classList.add("reply");
    item.querySelector("[data-replies]")?.remove();
  }
  return item;
}

/** Inserts a comment unless the page already shows it; returns whether it was added. */
export function insertComment(doc, list, data, options = {}) {
  const id = `c${data.id}`;
  if (!data.id || doc.getElementById(id)) return false;
  let item = buildComment(doc, data, options);
  if (!item) {
    // A page without the template (an old cached page): the text with its author.
    item = doc.createElement("li");
    item.className = "comment";
    item.id = id;
    const text = doc.createElement("p");
    text.className = "comment-text";
    const author = doc.createElement("a");
    author.className = "post-author";
    author.href = profileUrl(data.author?.username ?? "");
    author.textContent = data.author?.username ?? "";
    const body = doc.createElement("template");
    body.innerHTML = String(data.html ?? "");
    text.append(author, " ", body.content);
    item.append(text);
  }
  const replies = data.parent_id && doc.getElementById(`c${data.parent_id}`)?.querySelector("[data-replies]");
  (replies || list).append(item);
  return true;
}

function setUnread(doc, unread) {
  for (const badge of doc.querySelectorAll("[data-unread-badge]")) {
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = unread <= 0;
  }
}

/** Whether the page shows this post live (its comments and likes arrive on screen). */
export function showsPostLive(doc, postId) {
  if (!postId) return false;
  return [...doc.querySelectorAll("[data-live-channel]")].some(
    (el) => el.dataset.liveChannel === `post:${postId}`,
  );
}

/**
 * One toast per kind of news about one thing: a third comment on the same photo updates the
 * toast already showing (latest words, quoted comment, a count) instead of stacking another.
 */
export class Toasts {
  constructor(doc, region) {
    this.doc = doc;
    this.region = region;
    this.byKey = new Map(); // group key → {toast, text, quote, count, arm}
  }

  show({ key, text, quote, postId }) {
    const group = key && this.byKey.get(key);
    if (group) {
      group.count += 1;
      group.text.textContent = text;
      group.quote.textContent = quote || "";
      group.quote.hidden = !quote;
      group.counter.textContent = `×${group.count}`;
      group.counter.hidden = false;
      this.region.append(group.toast); // the newest goes last, like a fresh one
      group.arm();
      return group.toast;
    }
    return this._create({ key, text, quote, postId });
  }

  _create({ key, text, quote, postId }) {
    const doc = this.doc;
    const toast = doc.createElement("div");
    toast.className = "live-toast";
    const body = doc.createElement(postId ? "a" : "div");
    body.className = "live-toast-body";
    if (postId) body.href = `/p/${encodeURIComponent(postId)}`;
    const message = doc.createElement("span");
    message.className = "live-toast-text";
    message.textContent = text;
    const counter = doc.createElement("span");
    counter.className = "live-toast-count";
    counter.hidden = true;
    const quoted = doc.createElement("span");
    quoted.className = "live-toast-quote";
    quoted.textContent = quote || "";
    quoted.hidden = !quote;
    body.append(message, " ", counter, quoted);
    const close = doc.createElement("button");
    close.type = "button";
    close.className = "live-toast-close";
    close.setAttribute("aria-label", doc.body.dataset.msgDismiss || "Dismiss");
    close.textContent = "×";
    toast.append(body, close);
    let timer = null;
    const dismiss = () => {
      clearTimeout(timer);
      toast.remove();
      if (key && this.byKey.get(key)?.toast === toast) this.byKey.delete(key);
    };
    // Timing is adjustable (WCAG 2.2.1): the toast stays while pointed at or focused.
    const arm = () => { clearTimeout(timer); timer = setTimeout(dismiss, TOAST_SHOW_MS); };
    const hold = () => clearTimeout(timer);
    close.addEventListener("click", dismiss);
    toast.addEventListener("mouseenter", hold);
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusin", hold);
    toast.addEventListener("focusout", arm);
    if (key) this.byKey.set(key, { toast, text: message, quote: quoted, counter, count: 1, arm });
    this.region.append(toast);
    while (this.region.children.length > TOAST_MAX) {
      const oldest = this.region.children[0];
      for (const [k, g] of this.byKey) if (g.toast === oldest) this.byKey.delete(k);
      oldest.remove();
    }
    arm();
    return toast;
  }
}

function startNotifications(doc, conn) {
  const channel = doc.body.dataset.userChannel;
  if (!channel) return;
  // The live region must exist before text lands in it, or screen readers stay silent.
  const region = doc.createElement("div");
  region.className = "live-toasts";
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  doc.body.append(region);
  const toasts = new Toasts(doc, region);
  conn.subscribe(channel, (event) => {
    if (event.event === "notifications.read") {
      // Opened in another tab: the badge follows everywhere.
      const { unread } = event.data ?? {};
      if (Number.isFinite(unread)) setUnread(doc, unread);
      return;
    }
    if (event.event !== "notification.created") return;
    const { unread, text, post_id: postId, kind, excerpt } = event.data ?? {};
    if (Number.isFinite(unread)) setUnread(doc, unread);
    // Already on screen: this page lists the post's comments and counts its likes live.
    if (!text || showsPostLive(doc, postId)) return;
    const key = postId ? `${kind}:${postId}` : `${kind}:${event.data?.actor?.username ?? ""}`;
    toasts.show({ key, text, quote: excerpt, postId });
  });
}

/** After replay.incomplete some events are gone for good: fetch the page's list afresh. */
async function refreshList(doc, channel, list, selector) {
  try {
    const response = await fetch(doc.location.href, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const roots = [...fresh.querySelectorAll("[data-live-channel]")];
    const root = roots.find((el) => el.dataset.liveChannel === channel);
    const freshList = root?.querySelector(selector);
    // Our own server's page, so the same trust as the page we are on.
    if (freshList) list.replaceChildren(...freshList.childNodes);
  } catch {
    /* the list stays as it is; the next reload fixes it */
  }
}

/** Sends the form's body over the socket when it can; otherwise the plain post goes ahead. */
function enhanceSendForm(doc, form, channel, conn) {
  const input = form.querySelector("[name=body]");
  if (!input) return () => {};
  let errorEl = form.querySelector("[data-send-error]");
  const showError = (message) => {
    if (!errorEl) {
      errorEl = doc.createElement("p");
      errorEl.className = "field-error";
      errorEl.setAttribute("role", "alert");
      form.append(errorEl);
    }
    errorEl.textContent = message;
    errorEl.hidden = !message;
  };
  form.addEventListener("submit", async (event) => {
    if (!conn.canSend) return;
    // The socket carries a body only; a reply (parent_id) goes through the page's own post.
    if (form.querySelector("[name=parent_id]")?.value) return;
    event.preventDefault();
    const body = input.value;
    input.value = "";
    showError("");
    try {
      await conn.send(channel, body);
    } catch (err) {
      if (!input.value) input.value = body; // give the text back to fix or retry
      if (FORM_FALLBACK_CODES.has(err.code)) return form.submit();
      showError(err.code === "disconnected" ? form.dataset.msgDisconnected || err.message : err.message);
    }
  });
  return showError;
}

function isMe(doc, author) {
  const me = doc.body.dataset.username;
  return Boolean(me && author?.username === me);
}

function startPost(doc, root, channel, conn, stages) {
  const list = root.querySelector("[data-comment-list]");
  const stage = root.querySelector("[data-danmaku-stage]");
  const danmaku = stage ? new Danmaku(stage) : null;
  if (danmaku) stages.push(danmaku);
  const form = root.querySelector("form[data-live-comment-form]");
  const showError = form ? enhanceSendForm(doc, form, channel, conn) : () => {};
  // The author's own page may have listed the comment already (from the form's answer);
  // it should still fly, once.
  const flown = new Set();
  conn.subscribe(channel, (event) => {
    const data = event.data ?? {};
    if (event.event === "comment.created") {
      if (list) insertComment(doc, list, data, { owner: root.dataset.postOwner });
      root.querySelectorAll("[data-comments-empty]").forEach((el) => { el.hidden = true; });
      if (!flown.has(data.id)) {
        flown.add(data.id);
        danmaku?.add(data.body, { self: isMe(doc, data.author) });
      }
    } else if (event.event === "comment.deleted") {
      doc.getElementById(`c${data.id}`)?.remove();
    } else if (event.event === "like.changed") {
      setLikeCount(root.querySelector("[data-like-count]"), Number(data.count));
    } else if (event.event === "replay.incomplete" && list) {
      refreshList(doc, channel, list, "[data-comment-list]");
    } else if (event.event === "live.error") {
      showError(data.message || "");
    }
  }, { since: root.dataset.liveSince });
}

function startRoom(doc, root, channel, conn, stages) {
  const list = root.querySelector("[data-message-list]");
  const stage = root.querySelector("[data-room-stage]") ?? root.querySelector("[data-danmaku-stage]");
  const danmaku = stage ? new Danmaku(stage) : null;
  if (danmaku) stages.push(danmaku);
  const presence = root.querySelector("[data-presence]");
  const counter = new PresenceCounter();
  const form = root.querySelector("form[data-live-send-form]");
  const showError = form ? enhanceSendForm(doc, form, channel, conn) : () => {};
  conn.subscribe(channel, (event) => {
    const data = event.data ?? {};
    if (event.event === "message.created") {
      if (!data.id || doc.getElementById(`m${data.id}`)) return;
      if (list) {
        // Follow the conversation only if the reader was already at its end.
        const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
        list.append(buildMessage(doc, data));
        while (list.children.length > MESSAGE_LIST_MAX) list.children[0].remove();
        if (atEnd) list.scrollTop = list.scrollHeight;
      }
      danmaku?.add(data.body, { self: isMe(doc, data.author) });
    } else if (event.event === "presence.changed" && presence) {
      presence.textContent = formatCount(presence.dataset.label, counter.update(data.node, data.watching));
    } else if (event.event === "replay.incomplete" && list) {
      refreshList(doc, channel, list, "[data-message-list]");
    } else if (event.event === "live.error") {
      showError(data.message || "");
    }
  }, { since: root.dataset.liveSince });
}

export function startLivePages(doc = document, conn = live) {
  if (!doc.body) return;
  conn.onStateChange((state) => { doc.documentElement.dataset.live = state; });
  startNotifications(doc, conn);
  const stages = [];
  for (const root of doc.querySelectorAll("[data-live-channel]")) {
    const channel = root.dataset.liveChannel;
    if (channel.startsWith("post:")) startPost(doc, root, channel, conn, stages);
    else if (channel.startsWith("room:")) startRoom(doc, root, channel, conn, stages);
  }
  wireDanmakuToggles(doc, (on) => stages.forEach((danmaku) => danmaku.setEnabled(on)));
}

// In a browser, run; under Node's test runner, only the exports above are wanted.
if (typeof document !== "undefined") startLivePages();

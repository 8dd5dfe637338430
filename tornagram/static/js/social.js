// Likes, saves, comments and sharing on post cards, made instant. Every control is a plain
// form or link that works without this file; here we only intercept them, answer at once, and
// put things back if the server says no.
import { xsrfToken } from "./app.js";
import { setLikeCount } from "./like-count.js";

/** POST with the XSRF header and a JSON answer; throws an Error carrying the server's message. */
async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-XSRFToken": xsrfToken(), Accept: "application/json" },
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    /* an error page from a proxy: keep the status */
  }
  if (!response.ok) {
    throw new Error((data && data.error && data.error.message) || response.statusText || "Error");
  }
  return data;
}

/** tone "ok" for news ("Link copied"), in the calm colour and read politely. */
function showAlert(root, message, tone = "error") {
  const alert = root && root.querySelector("[data-action-alert]");
  if (!alert) return;
  alert.textContent = message;
  alert.dataset.tone = tone;
  alert.setAttribute("role", tone === "ok" ? "status" : "alert");
  alert.hidden = !message;
}

// -- like and save -----------------------------------------------------------------------------

function setToggle(form, active) {
  form.dataset.active = String(active);
  form.action = active ? form.dataset.offUrl : form.dataset.onUrl;
  const button = form.querySelector("button");
  button.setAttribute("aria-pressed", String(active));
  button.setAttribute("aria-label", active ? form.dataset.labelOff : form.dataset.labelOn);
}

function setCardLikeCount(card, count) {
  setLikeCount(card && card.querySelector("[data-like-count]"), count);
}

async function toggle(form) {
  if (form.dataset.busy) return;
  const card = form.closest("[data-post-card]");
  const wasActive = form.dataset.active === "true";
  const url = wasActive ? form.dataset.offUrl : form.dataset.onUrl;
  const isLike = form.dataset.toggle === "like";
  const countLink = card && card.querySelector("[data-like-count]");
  const oldCount = countLink ? Number(countLink.dataset.likeCount) : 0;
  // Answer at once; the server's figure replaces our guess when it arrives.
  setToggle(form, !wasActive);
  if (isLike) setCardLikeCount(card, Math.max(0, oldCount + (wasActive ? -1 : 1)));
  showAlert(card, "");
  form.dataset.busy = "1";
  try {
    const data = await postJSON(url, new FormData(form));
    if (isLike && typeof data.like_count === "number") setCardLikeCount(card, data.like_count);
  } catch (error) {
    setToggle(form, wasActive);
    if (isLike) setCardLikeCount(card, oldCount);
    showAlert(card, error.message);
  } finally {
    delete form.dataset.busy;
  }
}

// -- comments ------------------------------------------------------------------------------------

function commentForm() {
  return document.querySelector("form[data-comment-form]");
}

function setReply(form, parentId, name) {
  form.querySelector("[data-parent-field]").value = parentId || "";
  const note = form.querySelector("[data-replying-to]");
  note.hidden = !parentId;
  note.querySelector("[data-reply-name]").textContent = parentId ? `@${name}` : "";
  const textarea = form.querySelector("textarea");
  if (parentId && !textarea.value.trim()) textarea.value = `@${name} `;
  textarea.focus();
}

function showCommentError(form, message) {
  const error = form.querySelector("[data-comment-error]");
  error.textContent = message;
  error.hidden = !message;
  form.classList.toggle("has-error", Boolean(message));
}

async function submitComment(form) {
  const button = form.querySelector("button[type=submit]");
  const textarea = form.querySelector("textarea");
  button.disabled = true;
  try {
    const data = await postJSON(form.action, new FormData(form));
    const list = document.querySelector("[data-comment-list]");
    const parent = data.parent_id && document.getElementById(`c${data.parent_id}`);
    const target = parent ? parent.querySelector("[data-replies]") : list;
    // The live channel may have listed it already (from the same event): replace, not repeat.
    const existing = document.getElementById(`c${data.id}`);
    if (existing) existing.outerHTML = data.html;
    else target.insertAdjacentHTML("beforeend", data.html);
    const empty = document.querySelector("[data-comments-empty]");
    if (empty) empty.hidden = true;
    textarea.value = "";
    showCommentError(form, "");
    setReply(form, "", "");
    document.getElementById(`c${data.id}`)?.scrollIntoView({ block: "nearest" });
  } catch (error) {
    // What was typed stays, with the reason under it.
    showCommentError(form, error.message);
  } finally {
    button.disabled = false;
  }
}

async function deleteComment(form) {
  if (!window.confirm(form.dataset.confirmText)) return;
  try {
    await postJSON(form.action, new FormData(form));
    form.closest("li.comment")?.remove();
  } catch (error) {
    window.alert(error.message);
  }
}

// -- share ---------------------------------------------------------------------------------------

async function share(link) {
  const url = new URL(link.getAttribute("href"), window.location.href).href;
  if (navigator.share) {
    try {
      await navigator.share({ url, title: document.title });
    } catch {
      /* the person closed the share sheet */
    }
    return;
  }
  try {
    await navigator.clipboard.writeText(url);
    showAlert(link.closest("[data-post-card]"), link.dataset.copied, "ok");
  } catch {
    window.location.href = url;
  }
}

// -- wiring: delegated, so cards and comments added later (infinite scroll, live) work too ------

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.matches("form[data-toggle]")) {
    event.preventDefault();
    toggle(form);
  } else if (form.matches("form[data-comment-form]")) {
    event.preventDefault();
    submitComment(form);
  } else if (form.matches("form[data-comment-delete]")) {
    event.preventDefault();
    deleteComment(form);
  }
});

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  const reply = target.closest("a[data-reply-to]");
  const form = commentForm();
  if (reply && form) {
    event.preventDefault();
    setReply(form, reply.dataset.replyTo, reply.dataset.replyName);
    return;
  }
  if (target.closest("a[data-cancel-reply]") && form) {
    event.preventDefault();
    setReply(form, "", "");
    return;
  }
  const shareLink = target.closest("a[data-share]");
  if (shareLink) {
    event.preventDefault();
    share(shareLink);
    return;
  }
  if (target.closest("a[data-focus-comment]") && form) {
    event.preventDefault();
    form.querySelector("textarea").focus();
  }
});

// Enter posts the comment; Shift+Enter makes a new line.
document.addEventListener("keydown", (event) => {
  const textarea = event.target;
  if (!(textarea instanceof HTMLTextAreaElement) || !textarea.closest("form[data-comment-form]")) return;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    textarea.form.requestSubmit();
  }
});

// The upload page, enhanced: drag and drop, previews with a checked status per file, alt text
// per photo, and a real progress bar (XHR upload progress). Without JavaScript the same form
// posts normally.
import { xsrfToken } from "./app.js";

const form = document.getElementById("upload-form");
const input = document.getElementById("f-photo");
const dropzone = document.getElementById("dropzone");
const list = document.getElementById("upload-previews");
const progress = document.getElementById("upload-progress");
const bar = document.getElementById("upload-progress-bar");
const progressText = document.getElementById("upload-progress-text");
const submit = document.getElementById("upload-submit");
const singleAlt = document.getElementById("single-alt");
const maxFiles = Number(form.dataset.maxFiles);
const maxBytes = Number(form.dataset.maxBytes);
const altMax = Number(form.dataset.altMax);
const ACCEPTED = /^image\/(jpeg|png|webp|gif|heic|heif)$|\.(jpe?g|png|webp|gif|heic|heif)$/i;
const t = (key) => form.dataset[key] || key;

let files = [];

function problemWith(file) {
  if (!ACCEPTED.test(file.type) && !ACCEPTED.test(file.name)) return t("msgType");
  if (file.size > maxBytes) return t("msgSize");
  if (file.size === 0) return t("msgEmpty");
  return "";
}

/** "2.4 MB", "830 KB": the size a person recognises from their file manager. */
function humanSize(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function extension(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toUpperCase().slice(0, 5) : "";
}

/** A tile with the file's type, for files this browser cannot draw (HEIC outside Safari). */
function tileFor(file) {
  const tile = document.createElement("div");
  tile.className = "upload-tile";
  tile.setAttribute("aria-hidden", "true");
  tile.textContent = extension(file.name) || "?";
  return tile;
}

function render() {
  list.replaceChildren();
  files.forEach((entry, index) => {
    const item = document.createElement("li");
    item.className = "upload-preview" + (entry.problem ? " refused" : "");
    const img = document.createElement("img");
    img.alt = "";
    img.width = 96; img.height = 96;
    let thumb = img;
    if (entry.problem || entry.undrawable) thumb = tileFor(entry.file);
    else {
      img.src = entry.url;
      img.addEventListener("error", () => { entry.undrawable = true; img.replaceWith(tileFor(entry.file)); }, { once: true });
    }
    const meta = document.createElement("div");
    meta.className = "upload-meta";
    const name = document.createElement("p");
    name.className = "upload-name";
    name.textContent = `${index + 1}. ${entry.file.name}`;
    const size = document.createElement("p");
    size.className = "upload-size";
    size.textContent = humanSize(entry.file.size);
    meta.append(name, size);
    if (entry.problem) {
      const why = document.createElement("p");
      why.className = "field-error";
      why.textContent = entry.problem;
      meta.append(why);
    } else {
      const alt = document.createElement("input");
      alt.type = "text"; alt.maxLength = altMax; alt.value = entry.alt;
      alt.placeholder = t("msgAlt");
      alt.setAttribute("aria-label", `${t("msgAlt")} (${index + 1})`);
      alt.addEventListener("input", () => { entry.alt = alt.value; });
      meta.append(alt);
    }
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "btn btn-small btn-ghost";
    remove.textContent = "✕";
    remove.setAttribute("aria-label", t("msgRemove"));
    remove.addEventListener("click", () => { URL.revokeObjectURL(entry.url); files.splice(index, 1); render(); });
    item.append(thumb, meta, remove);
    list.append(item);
  });
  const ok = files.filter((f) => !f.problem).length;
  submit.disabled = ok === 0 || ok > maxFiles;
  if (ok > maxFiles) showErrors([t("msgTooMany")]);
}

function add(newFiles) {
  for (const file of newFiles) {
    files.push({ file, url: URL.createObjectURL(file), alt: "", problem: problemWith(file) });
  }
  render();
}

function showErrors(messages) {
  let box = document.getElementById("upload-errors");
  if (!box) {
    box = document.createElement("div");
    box.id = "upload-errors"; box.className = "form-error"; box.setAttribute("role", "alert");
    form.before(box);
  }
  box.replaceChildren(...messages.map((m) => { const p = document.createElement("p"); p.textContent = m; return p; }));
}

singleAlt.remove();
input.removeAttribute("required");
render();  // Share starts disabled: there is nothing to share yet
input.addEventListener("change", () => { add(input.files); input.value = ""; });
for (const type of ["dragenter", "dragover"]) {
  dropzone.addEventListener(type, (event) => { event.preventDefault(); dropzone.classList.add("dragging"); });
}
for (const type of ["dragleave", "drop"]) {
  dropzone.addEventListener(type, () => dropzone.classList.remove("dragging"));
}
dropzone.addEventListener("drop", (event) => { event.preventDefault(); add(event.dataTransfer.files); });

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const ready = files.filter((f) => !f.problem);
  if (ready.length === 0) { showErrors([t("msgNone")]); return; }
  const data = new FormData();
  data.append("caption", form.elements.caption.value);
  for (const entry of ready) {
    data.append("photo", entry.file, entry.file.name);
    data.append("alt", entry.alt);
  }
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.setRequestHeader("X-XSRFToken", xsrfToken());
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    const percent = Math.round((100 * e.loaded) / e.total);
    bar.value = percent;
    progressText.textContent = percent < 100 ? `${percent}%` : t("msgProcessing");
  });
  xhr.addEventListener("load", () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: a proxy's error page */ }
    if (xhr.status === 201 && body.url) { window.location.assign(body.url); return; }
    progress.hidden = true; progressText.textContent = ""; submit.disabled = false;
    const fields = body.error && body.error.fields ? Object.values(body.error.fields) : [];
    showErrors(fields.length ? fields : [body.error ? body.error.message : t("msgFailed")]);
  });
  xhr.addEventListener("error", () => { progress.hidden = true; progressText.textContent = ""; submit.disabled = false; showErrors([t("msgFailed")]); });
  progress.hidden = false; submit.disabled = true; bar.value = 0; progressText.textContent = "0%";
  xhr.send(data);
});

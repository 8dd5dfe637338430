// The export page's live progress: while the zip is built, ask the server how far it has got
// and move the bar; reload once it is ready (or failed) to show the download link. Without
// this file the page refreshes itself (a <meta refresh>) and says the same.
const box = document.querySelector("[data-export-status]");

async function poll() {
  let answer;
  try {
    const response = await fetch(box.dataset.exportStatus, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return setTimeout(poll, 5000);
    answer = await response.json();
  } catch {
    return setTimeout(poll, 5000);
  }
  const bar = box.querySelector("progress");
  if (bar) bar.value = answer.progress;
  const figure = box.querySelector("[data-export-progress]");
  if (figure) figure.textContent = `${answer.progress}%`;
  if (answer.status === "pending") setTimeout(poll, 1000);
  else window.location.reload();
}

if (box) {
  // The script takes over from the fallback refresh.
  const refresh = document.querySelector('meta[http-equiv="refresh"]');
  if (refresh) refresh.remove();
  setTimeout(poll, 1000);
}

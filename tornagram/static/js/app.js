// Progressive enhancement for every page. The site works without this file; it only makes
// things quicker. Loaded as an ES module, so it runs after the document is parsed.

document.documentElement.classList.add("js");

// Forms marked data-autosubmit (the language picker) submit when a choice changes.
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  form.addEventListener("change", () => form.requestSubmit());
}

// A file input hidden behind a styled button shows the chosen file's name beside it.
for (const input of document.querySelectorAll("input[type=file][data-file-name]")) {
  const out = document.getElementById(input.dataset.fileName);
  input.addEventListener("change", () => { if (out) out.textContent = [...input.files].map((f) => f.name).join(", "); });
}

/** The XSRF token Tornado set as a cookie, for fetch() calls that change state. */
export function xsrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

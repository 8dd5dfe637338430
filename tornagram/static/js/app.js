// Progressive enhancement for every page. The site works without this file; it only makes
// things quicker. Loaded as an ES module, so it runs after the document is parsed.

document.documentElement.classList.add("js");

// Forms marked data-autosubmit (the language picker) submit when a choice changes.
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  form.addEventListener("change", () => form.requestSubmit());
}

/** The XSRF token Tornado set as a cookie, for fetch() calls that change state. */
export function xsrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

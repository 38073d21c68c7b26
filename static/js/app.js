// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // htmx requests carry the CSRF token the way Flask-WTF reads it.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
  });
  // Move focus to the error summary so screen-reader and keyboard users land on it.
  function focusSummary(root) {
    var summary = (root || document).querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  document.addEventListener("htmx:afterSwap", function (event) { focusSummary(event.detail.target); });
  // A live character counter for fields that declare data-maxlength-counter.
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!el.dataset || !el.dataset.counter) { return; }
    var out = document.getElementById(el.dataset.counter);
    if (out) { out.textContent = el.value.length + " / " + el.getAttribute("maxlength"); }
  });
})();

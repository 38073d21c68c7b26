// Event registration: a refused form (an expired page, too many sends) comes back as the
// registration area with what was typed still in it; htmx would not swap a 4xx/5xx answer,
// so let it here. Without this file the plain form posts and the page comes back whole.
(function () {
  "use strict";
  var KEPT = [400, 409, 422, 429, 503];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var target = detail.target;
    if (KEPT.indexOf(detail.xhr.status) === -1 || !target || !target.hasAttribute("data-keep-text")) {
      return;
    }
    if (detail.xhr.responseText.indexOf('id="' + target.id + '"') === -1) { return; }
    detail.shouldSwap = true;
    detail.isError = false;
  });
  // The area was replaced whole: its message (or the outcome of a registration) is where the
  // eye and the screen reader should go next.
  document.addEventListener("htmx:afterSwap", function (event) {
    var area = document.getElementById("registration");
    if (!area || event.detail.target.id !== "registration") { return; }
    var next = area.querySelector(".error-summary[tabindex], .registration-done");
    if (next) { next.focus(); }
  });
})();

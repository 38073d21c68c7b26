// The forms people send without an account (comments, answers, registrations): a refused form
// (an expired page, too many sends, a busy moment) comes back as its area with what was typed
// still in it; htmx would not swap a 4xx/5xx answer, so let it here. Without this file the
// plain form posts and the page comes back whole.
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
  // The area was replaced whole: its message (or the outcome) is where the eye and the screen
  // reader should go next; the area names it in data-focus-after-swap.
  document.addEventListener("htmx:afterSwap", function (event) {
    var area = document.getElementById(event.detail.target.id) || event.detail.target;
    if (!area || !area.hasAttribute || !area.hasAttribute("data-keep-text")) { return; }
    var selector = area.getAttribute("data-focus-after-swap");
    var next = selector && area.querySelector(selector);
    if (next) { next.focus(); }
  });
})();

// Comment rounds: a refused comment (an expired form, too many sends) comes back as the comment
// area with the text still in the box; htmx would not swap a 4xx answer, so let it here.
// Without this file the text simply stays in the box where it was typed.
(function () {
  "use strict";
  var KEPT = [400, 409, 422, 429];
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
  // After a swap, a message or a thank-you is where the eye and the screen reader should go.
  document.addEventListener("htmx:afterSwap", function (event) {
    var area = document.getElementById(event.detail.target.id) || event.detail.target;
    if (!area || !area.hasAttribute || !area.hasAttribute("data-keep-text")) { return; }
    var notice = area.querySelector(".round-notice");
    if (notice) { notice.focus(); }
  });
})();

// Form builder: show only the settings of the chosen question type. Progressive enhancement:
// without this file every settings group shows, each saying which types it is for.
(function () {
  "use strict";
  function chosenType(form) {
    var select = form.querySelector("select[name=question_type]");
    return select ? select.value : form.dataset.questionType;
  }
  function sync(form) {
    var type = chosenType(form);
    if (!type) { return; }
    form.querySelectorAll("[data-types]").forEach(function (group) {
      var used = group.dataset.types.split(" ").indexOf(type) !== -1;
      // A group with a message stays visible so the message can be read and fixed.
      group.hidden = !used && !group.querySelector(".field-error");
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "question_type" && event.target.form) { sync(event.target.form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-question-form]").forEach(sync);
  });
})();

// The amoCRM deal card panel: a visit's duration follows its services' total (it can be
// typed over). The durations come as JSON in the form's data-durations.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-panel-services]");
    var form = select && select.closest("[data-durations]");
    if (!form) return;
    var durations = JSON.parse(form.dataset.durations || "{}");
    var total = 0;
    Array.prototype.forEach.call(select.selectedOptions, function (option) {
      total += durations[option.value] || 0;
    });
    var duration = form.querySelector("[name=duration]");
    if (duration && total) duration.value = total;
  });
})();

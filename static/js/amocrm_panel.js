// The amoCRM deal card panel: the services are picked by typing (a price list is long), and
// a visit's duration follows their total (it can be typed over). The durations come as JSON
// in the form's data-durations.
(function () {
  "use strict";
  // Every form htmx swaps in is set up here, and only here (a refused form comes back new).
  document.addEventListener("htmx:load", function (event) {
    event.target.querySelectorAll("select[data-panel-services]:not(.tomselected)").forEach(function (select) {
      new TomSelect(select, { plugins: ["remove_button"], maxOptions: 300 });
    });
  });
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

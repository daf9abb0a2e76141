// The "find a time" screen: the services as a searchable picker, and the length they add
// up to shown in the empty duration field (an empty field means exactly that length).
(function () {
  "use strict";

  function initFindForm(root) {
    const select = root.querySelector("select[data-find-services]:not(.tomselected)");
    if (!select) return;
    const durationsNode = document.getElementById("find-service-durations");
    const durations = durationsNode ? JSON.parse(durationsNode.textContent) : {};
    const duration = root.querySelector("[name=duration]");
    const picker = new TomSelect(select, { plugins: ["remove_button"], maxOptions: 300 });
    const showTotal = () => {
      const total = picker.getValue().reduce((sum, id) => sum + (durations[id] || 0), 0);
      if (duration) duration.placeholder = total ? String(total) : "";
    };
    picker.on("change", showTotal);
    showTotal();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector("[data-find-form]");
    if (form) initFindForm(form);
  });
})();

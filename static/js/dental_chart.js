// The dental chart's selection buttons: a jaw, all teeth, none. Teeth are checkboxes, so a
// click on a tooth selects it without any script; one delegated handler serves every chart
// htmx swaps in.
(function () {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-chart-select]");
    if (!button) return;
    const form = button.closest("form");
    const which = button.dataset.chartSelect;
    form.querySelectorAll("input.dental-check:not(:disabled)").forEach((box) => {
      box.checked = which === "all" || box.dataset.jaw === which;
    });
  });
})();

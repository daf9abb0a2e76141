// The discount form: only the fields the chosen scope and recipients use are shown (the
// server ignores the others anyway, see billing.discount_services).
(function () {
  "use strict";
  const form = document.querySelector("[data-discount-form]");
  if (!form) return;
  const scope = form.querySelector("[name=scope]");
  const recipients = form.querySelector("[name=recipients]");
  const wanted = {
    services: () => scope.value !== "order",
    categories: () => scope.value !== "order",
    age_from: () => recipients.value === "age",
    age_to: () => recipients.value === "age",
    patient_groups: () => recipients.value === "group",
    patients: () => recipients.value === "patients",
  };

  function sync() {
    for (const [name, shown] of Object.entries(wanted)) {
      const box = form.querySelector(`[data-field="${name}"]`);
      if (box) box.closest("[class^=col]").hidden = !shown();
    }
    form.querySelectorAll("[data-shown-for-scope]").forEach((note) => {
      note.hidden = scope.value === "order";
    });
    form.querySelectorAll("[data-shown-for-age]").forEach((note) => {
      note.hidden = recipients.value !== "age";
    });
  }

  scope.addEventListener("change", sync);
  recipients.addEventListener("change", sync);
  sync();
})();

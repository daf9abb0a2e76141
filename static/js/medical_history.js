// The medical record form: text from the chosen template into a section (its button) or
// into every empty section (the button by the picker).
(function () {
  "use strict";
  const data = document.getElementById("record-templates");
  const picker = document.querySelector("[data-record-template]");
  if (!data || !picker) return;
  const templates = new Map(JSON.parse(data.textContent).map((t) => [String(t.id), t]));
  const chosen = () => templates.get(picker.value);

  function insert(area, text, onlyEmpty) {
    if (!text || (onlyEmpty && area.value.trim())) return;
    area.value = area.value.trim() ? area.value.trimEnd() + "\n" + text : text;
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.querySelectorAll("[data-record-section]").forEach((area) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-link px-0";
    button.textContent = picker.dataset.insertLabel || "⤵";
    button.dataset.recordInsert = area.dataset.recordSection;
    button.addEventListener("click", () => {
      const template = chosen();
      if (template) insert(area, template[area.dataset.recordSection], false);
    });
    area.insertAdjacentElement("afterend", button);
  });

  document.querySelector("[data-record-template-fill]").addEventListener("click", () => {
    const template = chosen();
    if (!template) return;
    document.querySelectorAll("[data-record-section]").forEach((area) => {
      insert(area, template[area.dataset.recordSection], true);
    });
  });
})();

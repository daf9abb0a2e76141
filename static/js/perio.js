// The periodontal chart's keyboard entry: a digit fills the site and the cursor walks on in
// the order the server sends (#perio-walk: upper buccal 18→28, upper palatal 28→18, lower
// lingual 38→48, lower buccal 48→38), probing depths first, then gingival margins. "+" then
// a digit is 10-15 mm; "-" then a digit a margin above the junction. B, S, P (by key
// position, any layout) toggle bleeding, suppuration, plaque at the site last entered;
// Ctrl+Enter saves.
(function () {
  "use strict";
  const grid = document.querySelector("[data-perio-grid]");
  const walkData = document.getElementById("perio-walk");
  if (!grid || !walkData || grid.dataset.perioReady) return;
  grid.dataset.perioReady = "1";
  const walk = JSON.parse(walkData.textContent);
  const byKey = new Map();
  grid.querySelectorAll("input.perio-in[data-site]").forEach((input) => {
    byKey.set(input.dataset.kind + ":" + input.dataset.site, input);
  });
  let order = [];
  let lastSite = null;

  function buildOrder() {
    order = [];
    ["pd", "gm"].forEach((kind) => {
      walk.forEach((site) => {
        const input = byKey.get(kind + ":" + site);
        if (input && !input.disabled) order.push(input);
      });
    });
  }

  function move(input, step) {
    const at = order.indexOf(input);
    const next = order[at + step];
    if (next) {
      next.focus();
      next.select();
    }
  }

  function updateCal(site) {
    const cell = grid.querySelector('[data-cal="' + site + '"]');
    if (!cell) return;
    const pd = byKey.get("pd:" + site).value.trim();
    const gm = byKey.get("gm:" + site).value.trim();
    const depth = /^\d{1,2}$/.test(pd) ? parseInt(pd, 10) : null;
    const margin = /^-?\d{1,2}$/.test(gm) ? parseInt(gm, 10) : 0;
    cell.textContent = depth === null ? "" : String(depth + margin);
  }

  function toggleFlag(flag, site) {
    const box = grid.querySelector('input[data-flag="' + flag + '"][data-site="' + site + '"]');
    if (box && !box.disabled) box.checked = !box.checked;
  }

  const FLAG_KEYS = { KeyB: "bop", KeyS: "sup", KeyP: "plaque" };

  grid.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.matches("input.perio-in[data-site]")) return;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      grid.closest("form").requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const pending = input.dataset.pending || "";
    if (/^[0-9]$/.test(event.key)) {
      event.preventDefault();
      const digit = parseInt(event.key, 10);
      let value = digit;
      if (pending === "+") value = 10 + digit;
      if (pending === "-") value = -digit;
      delete input.dataset.pending;
      input.value = String(value);
      lastSite = input.dataset.site;
      updateCal(input.dataset.site);
      move(input, 1);
    } else if (event.key === "+" || (event.key === "-" && input.dataset.kind === "gm")) {
      event.preventDefault();
      input.dataset.pending = event.key;
      input.value = event.key;
    } else if (event.key === "Backspace") {
      event.preventDefault();
      delete input.dataset.pending;
      if (input.value === "") {
        move(input, -1);
      } else {
        input.value = "";
        updateCal(input.dataset.site);
      }
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      move(input, 1);
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      const row = Array.from(input.closest("tr").querySelectorAll("input.perio-in:not(:disabled)"));
      const next = row[row.indexOf(input) + (event.key === "ArrowRight" ? 1 : -1)];
      if (next) {
        next.focus();
        next.select();
      }
    } else if (FLAG_KEYS[event.code]) {
      event.preventDefault();
      toggleFlag(FLAG_KEYS[event.code], lastSite || input.dataset.site);
    } else if (event.key.length === 1) {
      event.preventDefault(); // nothing else is a measurement
    }
  });

  grid.addEventListener("input", (event) => {
    const input = event.target;
    if (input instanceof HTMLInputElement && input.dataset.site) updateCal(input.dataset.site);
  });

  grid.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.matches("[data-perio-missing]")) return;
    const tooth = box.value;
    const gone = box.checked;
    grid.querySelectorAll("input").forEach((input) => {
      if (input === box) return;
      const name = input.dataset.name || "";
      if (name.endsWith("-" + tooth) || name.includes("-" + tooth + "-")) input.disabled = gone;
    });
    box.closest("th").classList.toggle("perio-missing", gone);
    grid.querySelectorAll('[data-site^="' + tooth + '-"], [data-cal^="' + tooth + '-"]').forEach((el) => {
      const cell = el.closest("td");
      if (cell) cell.classList.toggle("perio-missing", gone);
    });
    grid.querySelectorAll('input[data-name="mob-' + tooth + '"], input[data-name="fur-' + tooth + '"]').forEach((el) => {
      el.closest("td").classList.toggle("perio-missing", gone);
    });
    buildOrder();
  });

  const form = grid.closest("form");
  if (form) {
    // The grid travels as one JSON field ("grid"): a full mouth has more inputs than a
    // form may post. Unfilled sites stay out (the server reads them as unmeasured).
    form.addEventListener("submit", () => {
      const values = {};
      grid.querySelectorAll("input[data-name]:not(:disabled)").forEach((input) => {
        const name = input.dataset.name;
        if (input.type === "checkbox") {
          if (input.checked) (values[name] = values[name] || []).push(input.value);
        } else if (input.value.trim() !== "") {
          values[name] = input.value.trim();
        }
      });
      form.querySelector("input[name=grid]").value = JSON.stringify(values);
    });
  }

  buildOrder();
  const first = order.find((input) => input.value === "") || order[0];
  if (first) {
    first.focus();
    first.select();
  }
})();

// Shared behaviour of every page. Page-specific modules hook in through data-* attributes.
(function () {
  "use strict";

  const dialog = () => document.getElementById("app-dialog");

  // Any element with data-dialog-url opens that URL in the shared <dialog>.
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-dialog-url]");
    if (!opener) return;
    event.preventDefault();
    htmx.ajax("GET", opener.dataset.dialogUrl, { target: "#app-dialog-body", swap: "innerHTML" });
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "app-dialog-body") {
      // Forms marked data-panel (adding a patient) slide in from the right.
      dialog().classList.toggle("app-panel", !!event.detail.target.querySelector("[data-panel]"));
      // Content marked data-wide-dialog (a document's preview) needs a page's width.
      dialog().classList.toggle("app-dialog-wide", !!event.detail.target.querySelector("[data-wide-dialog]"));
      if (!dialog().open) dialog().showModal();
    }
  });

  document.body.addEventListener("closeDialog", () => {
    if (dialog().open) dialog().close();
  });

  // Messages of an action done in a dialog (the response is an empty 204).
  document.body.addEventListener("toasts", (event) => {
    for (const toast of event.detail.value || []) showToast(toast.text, toast.level, toast.undo);
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-dialog-close]")) dialog().close();
  });

  // hx-confirm questions use a styled dialog instead of window.confirm().
  document.body.addEventListener("htmx:confirm", (event) => {
    if (!event.detail.question) return;
    event.preventDefault();
    askConfirmation(event.detail.question).then((ok) => ok && event.detail.issueRequest(true));
  });

  // Plain forms (no htmx) ask too when they carry data-confirm.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.dataset.confirm || form.dataset.confirmed) return;
    event.preventDefault();
    askConfirmation(form.dataset.confirm).then((ok) => {
      if (!ok) return;
      form.dataset.confirmed = "1";
      form.requestSubmit(event.submitter);
    });
  });

  function askConfirmation(question) {
    const box = document.getElementById("app-confirm");
    box.querySelector(".app-confirm-question").textContent = question;
    box.returnValue = "";
    box.showModal();
    return new Promise((resolve) => {
      box.addEventListener("close", () => resolve(box.returnValue === "ok"), { once: true });
    });
  }

  // Server errors never fail silently. A search's results panel ([data-search-results])
  // says so in place: the old results, or none, would pass for the answer.
  document.body.addEventListener("htmx:responseError", (event) => {
    if (showSearchFailed(event.detail.target)) return;
    const status = event.detail.xhr.status;
    const text = status === 403
      ? gettext("You do not have the right to do this.")
      : gettext("Something went wrong on the server; please try again.");
    showToast(text, "danger");
  });

  document.body.addEventListener("htmx:sendError", (event) => {
    if (showSearchFailed(event.detail.target)) return;
    showToast(gettext("The server cannot be reached; check the connection and try again."), "danger");
  });

  function showSearchFailed(target) {
    if (!target || !target.matches("[data-search-results]")) return false;
    const list = document.createElement("div");
    list.className = "list-group list-group-flush";
    const item = document.createElement("div");
    item.className = "list-group-item text-danger";
    item.setAttribute("role", "alert");
    item.dataset.searchFailed = "";
    item.textContent = gettext("Search failed; please try again.");
    list.appendChild(item);
    target.replaceChildren(list);
    return true;
  }

  window.showToast = function (text, level, undoUrl) {
    const box = document.getElementById("app-toasts");
    const toast = document.createElement("div");
    toast.className = `alert alert-${level || "info"} alert-dismissible app-toast`;
    toast.setAttribute("role", "alert");
    toast.textContent = text;
    if (undoUrl) {
      const undo = document.createElement("button");
      undo.type = "button";
      undo.className = "btn btn-sm btn-link p-0 ms-2 align-baseline";
      undo.dataset.undo = "";
      undo.textContent = gettext("Undo");
      // Restoring answers with a redirect back here, so the page shows the object again.
      undo.addEventListener("click", () => {
        htmx.ajax("POST", undoUrl, { swap: "none", values: { next: location.pathname + location.search } });
      });
      toast.appendChild(undo);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.dataset.bsDismiss = "alert";
    toast.appendChild(close);
    box.appendChild(toast);
    setTimeout(() => toast.remove(), 8000);
  };

  // Toasts fade away by themselves, except errors.
  function autoDismiss(root) {
    within(root, ".app-toast:not(.alert-danger):not([data-dismissing])").forEach((toast) => {
      toast.dataset.dismissing = "1";
      setTimeout(() => toast.remove(), 8000);
    });
  }

  // A picker that searches the server as you type (Tom Select). When the request fails (an
  // HTTP error, the network) the dropdown says so: "nobody found" would be a wrong answer
  // that a person acts on, such as adding the patient again. New pickers use this.
  window.searchPicker = function (select, { url, toOption, renderOption }) {
    const failed = new Set();
    return new TomSelect(select, {
      valueField: "id",
      labelField: "label",
      searchField: [],
      maxOptions: 20,
      loadThrottle: 200,
      shouldLoad: (query) => query.length >= 2,
      load(query, callback) {
        failed.delete(query);
        fetch(url(query), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then((response) => {
            if (!response.ok) throw new Error(`HTTP ${response.status}`);
            return response.json();
          })
          .then((items) => callback(items.map(toOption)))
          .catch(() => {
            failed.add(query);
            delete this.loadedSearches[query]; // typing the same query again asks again
            callback();
          });
      },
      render: {
        option: renderOption,
        no_results: (data, escape) => failed.has(data.input)
          ? `<div class="no-results text-danger" role="alert" data-search-failed>${escape(gettext("Search failed; please try again."))}</div>`
          : `<div class="no-results">${escape(gettext("Nobody found."))}</div>`,
      },
    });
  };

  // A patient field (PatientChoiceField): found through the search API by name, phone or card.
  function patientPicker(select) {
    searchPicker(select, {
      url: (query) => `/api/v1/patients/search?q=${encodeURIComponent(query)}&limit=20`,
      toOption: (patient) => ({
        id: patient.id,
        label: `${patient.full_name} · № ${patient.card_number}`,
        phone: patient.phone,
      }),
      renderOption: (item, escape) =>
        `<div><div>${escape(item.label)}</div><div class="small text-secondary">${escape(item.phone || "")}</div></div>`,
    });
  }

  // Every widget of new content is set up here, and only here: htmx fires htmx:load for the
  // page itself and for every piece it swaps in (a dialog, a form re-rendered with its
  // errors, a list's next rows). Each initialiser skips what is already set up, so running
  // it twice over the same element binds nothing twice.
  function within(root, selector) {
    const found = [...root.querySelectorAll(selector)];
    return root.matches && root.matches(selector) ? [root, ...found] : found;
  }

  const liveTopics = new Set();

  function initWidgets(root) {
    within(root, "select[data-tom-select]:not(.tomselected)").forEach((select) => {
      new TomSelect(select, { plugins: select.multiple ? ["remove_button"] : [], maxOptions: 500 });
    });
    within(root, "select[data-patient-picker]:not(.tomselected)").forEach(patientPicker);
    within(root, "select[data-service-picker]:not(.tomselected)").forEach(servicePicker);
    within(root, "select[data-autosubmit]:not([data-autosubmit-ready])").forEach((select) => {
      select.dataset.autosubmitReady = "1";
      select.addEventListener("change", () => select.form.requestSubmit());
    });
    within(root, "[data-sortable-url]:not([data-sortable-ready])").forEach((list) => {
      if (typeof Sortable === "undefined") return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        handle: ".app-drag-handle",
        onEnd: () => {
          const ids = [...list.querySelectorAll("[data-id]")].map((el) => el.dataset.id).join(",");
          htmx.ajax("POST", list.dataset.sortableUrl, { values: { chair_ids: ids }, swap: "none" });
        },
      });
    });
    // A block that reloads itself (hx-trigger="liveRefresh") when its live topic speaks.
    within(root, "[data-live-topic]").forEach((block) => {
      const topic = block.dataset.liveTopic;
      if (typeof Live === "undefined" || liveTopics.has(topic)) return;
      liveTopics.add(topic); // once a page: the blocks of the topic are found when it speaks
      Live.subscribe(topic, () => {
        document.querySelectorAll(`[data-live-topic="${CSS.escape(topic)}"]`).forEach((node) => htmx.trigger(node, "liveRefresh"));
      });
    });
    autoDismiss(root);
  }

  // The services of a visit (the booking dialog): their durations add up to the visit's.
  function servicePicker(select) {
    const form = select.form;
    const durationsNode = form && form.querySelector("#service-durations");
    const durations = durationsNode ? JSON.parse(durationsNode.textContent) : {};
    const perToothNode = form && form.querySelector("#per-tooth-services");
    const perTooth = perToothNode ? JSON.parse(perToothNode.textContent) : {};
    const picker = new TomSelect(select, { plugins: ["remove_button"], maxOptions: 300 });
    picker.on("change", () => {
      const total = picker.getValue().reduce((sum, id) => sum + (durations[id] || 0), 0);
      const duration = form && form.querySelector("[name=duration_minutes]");
      if (total && duration) duration.value = total;
      syncTeethRows(form, picker.getValue(), perTooth);
    });
  }

  // A per-tooth service of the visit gets a field for its teeth ("36, 46"); typed teeth
  // stay when other services are added or removed.
  function syncTeethRows(form, chosen, perTooth) {
    const box = form && form.querySelector("[data-service-teeth]");
    if (!box) return;
    const wanted = chosen.filter((id) => perTooth[id]);
    box.querySelectorAll("[data-teeth-row]").forEach((row) => {
      if (!wanted.includes(row.dataset.teethRow)) row.remove();
    });
    for (const id of wanted) {
      if (box.querySelector(`[data-teeth-row="${id}"]`)) continue;
      const row = document.createElement("div");
      row.className = "input-group input-group-sm mb-2";
      row.dataset.teethRow = id;
      const label = document.createElement("span");
      label.className = "input-group-text text-truncate";
      label.style.maxWidth = "60%";
      label.title = perTooth[id];
      label.textContent = `${box.dataset.label}: ${perTooth[id]}`;
      const input = document.createElement("input");
      input.className = "form-control";
      input.name = `teeth-${id}`;
      input.placeholder = box.dataset.hint;
      input.inputMode = "numeric";
      input.maxLength = 200;
      row.append(label, input);
      box.append(row);
    }
  }

  // A free time offered in a dialog (booking, moving a patient) fills the form's fields.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-pick-slot]");
    if (!button || !button.form) return;
    const form = button.form;
    form.querySelector("[name=date]").value = button.dataset.date;
    form.querySelector("[name=time]").value = button.dataset.time;
    for (const name of ["chair", "doctor"]) {
      const field = form.querySelector(`[name=${name}]`);
      if (field && button.dataset[name]) field.value = button.dataset[name];
    }
    form.querySelectorAll("[data-pick-slot]").forEach((other) => other.classList.toggle("active", other === button));
  });

  // A reason offered in the cancel dialog fills its field.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-cancel-reason]");
    if (!button || !button.form) return;
    button.form.querySelector("[name=reason]").value = button.dataset.cancelReason;
  });

  // The quick new patient panel replaces a dialog's form (booking, waiting list); keep that
  // form aside and put it back with the new patient chosen.
  let parkedForm = null;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-quick-patient]");
    if (!button) return;
    parkedForm = document.querySelector("#app-dialog-body > form");
    if (parkedForm) parkedForm.remove();
    htmx.ajax("GET", button.dataset.quickPatient, { target: "#app-dialog-body", swap: "innerHTML" });
  });
  document.body.addEventListener("patientCreated", (event) => {
    if (!parkedForm) return;
    const body = document.getElementById("app-dialog-body");
    body.replaceChildren(parkedForm);
    const select = parkedForm.querySelector("select[data-patient-picker]");
    if (select && select.tomselect) {
      select.tomselect.addOption({ id: event.detail.id, label: `${event.detail.name} · № ${event.detail.card}` });
      select.tomselect.setValue(event.detail.id);
    }
    parkedForm = null;
    dialog().classList.remove("app-panel");
    setTimeout(() => dialog().showModal(), 0);
  });

  document.addEventListener("alpine:init", () => {
    Alpine.data("globalSearch", () => ({
      open: false,
      close() { this.open = false; },
    }));
  });

  htmx.onLoad(initWidgets);
})();

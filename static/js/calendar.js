// The chair-by-chair calendar: EventCalendar fed by the calendar app's JSON endpoints.
// Times travel as the branch's wall-clock time without an offset ("2026-11-23T09:30:00").
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("calendar-config").textContent);
  const el = document.querySelector("[data-calendar]");
  const menu = document.getElementById("calendar-menu");
  const state = {
    mode: "patients",
    profession: "",
    topics: [],
  };

  // --- Small helpers -------------------------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0");
  const toLocal = (d) =>
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00`;
  const toDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const csrf = () => JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const escapeHtml = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  function openDialog(url) {
    htmx.ajax("GET", url, { target: "#app-dialog-body", swap: "innerHTML" });
  }

  async function post(url, data) {
    const body = new URLSearchParams(data);
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrf(), "X-Requested-With": "fetch" },
      credentials: "same-origin",
    });
    let payload = {};
    try {
      payload = await response.json();
    } catch (e) {
      payload = { error: gettext("Something went wrong on the server; please try again.") };
    }
    return { status: response.status, payload };
  }

  // --- Moving and resizing (appointments and shifts) -----------------------------------

  async function move(info) {
    const props = info.event.extendedProps;
    const base = props.kind === "shift" ? config.urls.shift : config.urls.appointment;
    const data = {
      start: toLocal(info.event.start),
      end: toLocal(info.event.end),
      chair: info.newResource ? info.newResource.id : (info.event.resourceIds || [])[0] || "",
    };
    let result = await post(`${base}${props.id}/move/`, data);
    if (result.status === 409 && result.payload.code === "outside_shift") {
      const ok = await askConfirmation(result.payload.error);
      if (ok) result = await post(`${base}${props.id}/move/`, { ...data, allow_outside_shift: "true" });
    }
    if (result.status !== 200) {
      info.revert();
      if (result.payload.error) showToast(result.payload.error, "danger");
    }
    ec.refetchEvents();
  }

  // The shared confirm dialog of app.js, reused for "book outside the shift?".
  function askConfirmation(question) {
    const box = document.getElementById("app-confirm");
    box.querySelector(".app-confirm-question").textContent = question;
    box.returnValue = "";
    box.showModal();
    return new Promise((resolve) => box.addEventListener("close", () => resolve(box.returnValue === "ok"), { once: true }));
  }

  // --- Context menu --------------------------------------------------------------------

  function hideMenu() {
    menu.classList.remove("show");
  }

  function menuItem(label, handler, extra) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = `dropdown-item ${extra || ""}`;
    item.innerHTML = label;
    item.addEventListener("click", () => {
      hideMenu();
      handler();
    });
    return item;
  }

  function showMenu(jsEvent, items) {
    menu.replaceChildren(...items);
    menu.classList.add("show");
    // Keep the whole menu on screen near the pointer.
    const { width, height } = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(8, Math.min(jsEvent.clientX, window.innerWidth - width - 8))}px`;
    menu.style.top = `${Math.max(8, Math.min(jsEvent.clientY, window.innerHeight - height - 8))}px`;
  }

  function appointmentMenu(jsEvent, event) {
    const props = event.extendedProps;
    const items = [];
    const header = document.createElement("h6");
    header.className = "dropdown-header";
    header.textContent = props.patientName;
    items.push(header);
    items.push(menuItem(`<i class="bi bi-person-vcard"></i> ${gettext("Open the patient card")}`, () => {
      window.location = `${config.urls.patient}${props.patientId}/`;
    }));
    items.push(menuItem(`<i class="bi bi-info-circle"></i> ${gettext("Details")}`, () => openDialog(`${config.urls.appointment}${props.id}/`)));
    if (config.canChange) {
      const divider = document.createElement("div");
      divider.className = "dropdown-divider";
      items.push(divider);
      const label = document.createElement("h6");
      label.className = "dropdown-header";
      label.textContent = gettext("Visit statuses");
      items.push(label);
      for (const status of config.statuses) {
        const mark = status.code === props.status ? '<i class="bi bi-check2"></i>' : "";
        const item = menuItem(
          `<span class="app-color-dot" style="background:${status.color}"></span> ${escapeHtml(status.name)} ${mark}`,
          async () => {
            const result = await post(`${config.urls.appointment}${props.id}/status/`, { status: status.code });
            if (result.status !== 200) showToast(result.payload.error, "danger");
            ec.refetchEvents();
          },
        );
        item.dataset.statusCode = status.code;
        items.push(item);
      }
      const divider2 = document.createElement("div");
      divider2.className = "dropdown-divider";
      items.push(divider2);
      items.push(menuItem(`<i class="bi bi-pencil"></i> ${gettext("Edit")}`, () => openDialog(`${config.urls.appointment}${props.id}/edit/`)));
      items.push(menuItem(`<i class="bi bi-arrow-left-right"></i> ${gettext("Move patient…")}`, () => openDialog(`${config.urls.appointment}${props.id}/reschedule/`)));
      items.push(menuItem(`<i class="bi bi-x-circle"></i> ${gettext("Cancel…")}`, () => openDialog(`${config.urls.appointment}${props.id}/cancel/`), "text-danger"));
      items.push(menuItem(`<i class="bi bi-trash"></i> ${gettext("Delete")}`, async () => {
        if (!(await askConfirmation(gettext("Delete this visit? It can be restored from the recycle bin.")))) return;
        htmx.ajax("POST", `${config.urls.appointment}${props.id}/delete/`, { swap: "none" });
      }, "text-danger"));
    }
    showMenu(jsEvent, items);
  }

  function shiftMenu(jsEvent, event) {
    if (!config.canChange) return;
    const props = event.extendedProps;
    showMenu(jsEvent, [
      menuItem(`<i class="bi bi-trash"></i> ${gettext("Delete the shift")}`, async () => {
        if (!(await askConfirmation(gettext("Delete this shift? It can be restored from the recycle bin.")))) return;
        htmx.ajax("POST", `${config.urls.shift}${props.id}/delete/`, { swap: "none" });
      }, "text-danger"),
    ]);
  }

  document.addEventListener("click", (event) => {
    if (!menu.contains(event.target)) hideMenu();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideMenu();
  });

  // --- The calendar --------------------------------------------------------------------

  function eventsUrl(info) {
    const params = new URLSearchParams({
      branch: config.branch,
      start: info.startStr.slice(0, 10),
      end: info.endStr.slice(0, 10),
      mode: state.mode,
      profession: state.profession,
    });
    return `${config.urls.events}?${params}`;
  }

  const clickTimers = new Map();

  const ec = EventCalendar.create(el, {
    view: "resourceTimeGridDay",
    date: config.date,
    locale: document.documentElement.lang || "ru",
    firstDay: 1,
    height: "calc(100vh - 120px)",
    headerToolbar: { start: "prev,next today", center: "title", end: "resourceTimeGridDay,resourceTimeGridWeek" },
    buttonText: (text) => ({
      ...text,
      today: gettext("Today"),
      resourceTimeGridDay: gettext("Day"),
      resourceTimeGridWeek: gettext("Week"),
    }),
    allDaySlot: false,
    nowIndicator: true,
    datesAboveResources: true,
    slotMinTime: config.slotMinTime,
    slotMaxTime: config.slotMaxTime,
    slotDuration: { minutes: config.slotMinutes },
    snapDuration: { minutes: config.slotMinutes },
    scrollTime: config.slotMinTime,
    resources: [],
    eventSources: [{
      events: (info) => fetch(eventsUrl(info), { credentials: "same-origin" }).then((r) => {
        if (!r.ok) throw new Error(r.statusText);
        return r.json();
      }),
    }],
    selectable: config.canChange,
    editable: false,
    eventStartEditable: config.canChange,
    eventDurationEditable: config.canChange,
    select: (info) => {
      const params = new URLSearchParams({
        branch: config.branch,
        start: toLocal(info.start),
        end: toLocal(info.end),
        chair: info.resource ? info.resource.id : "",
      });
      const base = state.mode === "doctors" ? "/calendar/shifts/new/" : config.urls.book;
      openDialog(`${base}?${params}`);
      ec.unselect();
    },
    eventDrop: move,
    eventResize: move,
    eventContent: (info) => {
      const props = info.event.extendedProps;
      if (info.event.display === "background") {
        return { html: `<div class="app-shift-label">${escapeHtml(info.event.title)}</div>` };
      }
      if (props.kind === "shift") {
        return { html: `<div class="fw-medium">${escapeHtml(props.doctor)}</div><div class="small">${escapeHtml(info.timeText)}</div>` };
      }
      const services = (props.services || []).join(", ");
      return {
        html: `<div class="app-event-time">${escapeHtml(info.timeText)}</div>`
          + `<div class="app-event-title">${escapeHtml(info.event.title)}</div>`
          + `<div class="app-event-meta">${escapeHtml(props.doctor)}${services ? " · " + escapeHtml(services) : ""}</div>`,
      };
    },
    eventDidMount: (info) => {
      const props = info.event.extendedProps;
      if (info.event.display === "background") return;
      info.el.dataset.kind = props.kind;
      info.el.dataset.id = props.id;
      if (props.kind === "appointment") {
        info.el.dataset.status = props.status;
        info.el.style.borderLeft = `4px solid ${props.doctorColor}`;
        info.el.title = `${props.patientName}\n${props.phone || ""}\n${props.statusName}${props.note ? "\n" + props.note : ""}`;
        info.el.addEventListener("dblclick", () => {
          clearTimeout(clickTimers.get(props.id));
          window.location = `${config.urls.patient}${props.patientId}/`;
        });
      }
      info.el.addEventListener("contextmenu", (jsEvent) => {
        jsEvent.preventDefault();
        if (props.kind === "appointment") appointmentMenu(jsEvent, info.event);
        else shiftMenu(jsEvent, info.event);
      });
    },
    eventClick: (info) => {
      const props = info.event.extendedProps;
      if (props.kind !== "appointment") return;
      // A double click opens the card; wait a moment before treating this as a single click.
      clickTimers.set(props.id, setTimeout(() => openDialog(`${config.urls.appointment}${props.id}/`), 280));
    },
    datesSet: (info) => {
      setTimeout(fitWidth, 0);
      const day = toDay(info.start);
      renderMiniCalendar(day);
      const url = new URL(window.location);
      url.searchParams.set("date", day);
      url.searchParams.set("branch", config.branch);
      window.history.replaceState({}, "", url);
      // The schedule dialog opens on the day being viewed, not on today.
      const addShift = document.querySelector("[data-add-shift]");
      if (addShift) {
        const shiftUrl = new URL(addShift.dataset.dialogUrl, window.location.origin);
        shiftUrl.searchParams.set("date", day);
        addShift.dataset.dialogUrl = shiftUrl.pathname + shiftUrl.search;
      }
      subscribeVisibleDays(info.start, info.end);
    },
  });
  window.odontaCalendar = ec;

  let chairCount = 1;
  fetch(`${config.urls.resources}?branch=${config.branch}`, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((resources) => {
      chairCount = Math.max(resources.length, 1);
      ec.setOption("resources", resources);
      fitWidth();
    });

  // Many chairs (a week of them above all) are too wide for the screen: give every column
  // room for a surname and let the calendar pane scroll sideways instead of squeezing them.
  const COLUMN_MIN_WIDTH = 100;
  function fitWidth() {
    const days = ec.getView().type === "resourceTimeGridWeek" ? 7 : 1;
    el.querySelectorAll(".ec-header, .ec-body").forEach((part) => {
      part.style.minWidth = `${60 + chairCount * days * COLUMN_MIN_WIDTH}px`;
    });
  }

  document.body.addEventListener("calendarChanged", () => ec.refetchEvents());

  // --- Live updates: other people's changes on the visible days -------------------------

  function subscribeVisibleDays(start, end) {
    for (const topic of state.topics) Live.unsubscribe(topic);
    state.topics = [];
    for (let d = new Date(start); d < end; d.setDate(d.getDate() + 1)) {
      const topic = `calendar.${config.branch}.${toDay(d)}`;
      state.topics.push(topic);
      Live.subscribe(topic, () => ec.refetchEvents());
    }
  }

  // --- Filters and switches -------------------------------------------------------------

  document.querySelectorAll("[data-calendar-mode]").forEach((radio) => {
    radio.addEventListener("change", () => {
      state.mode = radio.value;
      el.dataset.mode = state.mode;
      ec.refetchEvents();
    });
  });
  const professionSelect = document.querySelector("[data-calendar-profession]");
  professionSelect.addEventListener("change", () => {
    state.profession = professionSelect.value;
    ec.refetchEvents();
  });
  const branchSelect = document.querySelector("[data-calendar-branch]");
  if (branchSelect) {
    branchSelect.addEventListener("change", () => {
      const url = new URL(window.location);
      url.searchParams.set("branch", branchSelect.value);
      window.location = url;
    });
  }

  // --- Mini calendar --------------------------------------------------------------------

  const mini = document.getElementById("mini-calendar");
  let miniMonth = null;

  function renderMiniCalendar(selected, monthStart) {
    const [y, m] = (monthStart || selected).split("-").map(Number);
    miniMonth = new Date(y, m - 1, 1);
    const first = new Date(miniMonth);
    const shift = (first.getDay() + 6) % 7;
    first.setDate(first.getDate() - shift);
    // The month alone, then the year: {month, year} adds "г." in Russian.
    const month = miniMonth.toLocaleDateString(document.documentElement.lang || "ru", { month: "long" });
    const monthName = `${month.charAt(0).toUpperCase()}${month.slice(1)} ${y}`;
    const weekdays = [...Array(7)].map((_, i) =>
      new Date(2024, 0, 1 + i).toLocaleDateString(document.documentElement.lang || "ru", { weekday: "short" }));
    let html = `<div class="d-flex justify-content-between align-items-center mb-1">
      <button type="button" class="btn btn-sm btn-link" data-mini-prev aria-label="${gettext("Previous month")}"><i class="bi bi-chevron-left"></i></button>
      <span class="fw-medium" data-mini-title>${monthName}</span>
      <button type="button" class="btn btn-sm btn-link" data-mini-next aria-label="${gettext("Next month")}"><i class="bi bi-chevron-right"></i></button></div>
      <table class="w-100 text-center small"><thead><tr>${weekdays.map((w) => `<th>${w}</th>`).join("")}</tr></thead><tbody>`;
    const cursor = new Date(first);
    for (let week = 0; week < 6; week++) {
      html += "<tr>";
      for (let d = 0; d < 7; d++) {
        const day = toDay(cursor);
        const classes = ["app-mini-day"];
        if (cursor.getMonth() !== miniMonth.getMonth()) classes.push("text-secondary", "opacity-50");
        if (day === selected) classes.push("selected");
        if (day === config.today) classes.push("today");
        html += `<td><button type="button" class="${classes.join(" ")}" data-goto="${day}">${cursor.getDate()}</button></td>`;
        cursor.setDate(cursor.getDate() + 1);
      }
      html += "</tr>";
    }
    mini.innerHTML = `${html}</tbody></table>`;
    mini.dataset.selected = selected;
  }

  mini.addEventListener("click", (event) => {
    const goto = event.target.closest("[data-goto]");
    if (goto) ec.setOption("date", goto.dataset.goto);
    const step = event.target.closest("[data-mini-prev]") ? -1 : event.target.closest("[data-mini-next]") ? 1 : 0;
    if (step) {
      const month = new Date(miniMonth.getFullYear(), miniMonth.getMonth() + step, 1);
      renderMiniCalendar(mini.dataset.selected, toDay(month));
    }
  });

  // --- Waiting list: drag an entry onto the calendar to book it -------------------------

  document.addEventListener("dragstart", (event) => {
    const entry = event.target.closest && event.target.closest("[data-waitlist-entry]");
    if (!entry) return;
    event.dataTransfer.setData("text/plain", `waitlist:${entry.dataset.waitlistEntry}`);
    event.dataTransfer.effectAllowed = "copy";
  });
  el.addEventListener("dragover", (event) => {
    if ([...event.dataTransfer.types].includes("text/plain")) event.preventDefault();
  });
  el.addEventListener("drop", (event) => {
    const data = event.dataTransfer.getData("text/plain");
    if (!data.startsWith("waitlist:")) return;
    event.preventDefault();
    const point = ec.dateFromPoint(event.clientX, event.clientY);
    if (!point || !point.resource) return;
    const params = new URLSearchParams({
      branch: config.branch,
      waitlist: data.slice(9),
      start: toLocal(point.date),
      chair: point.resource.id,
    });
    openDialog(`${config.urls.book}?${params}`);
  });

  // (The booking dialog's widgets are app.js's: the dialog opens from the patient card too.)
})();

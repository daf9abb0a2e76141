// The card's Images tab: the viewer's zoom (in, out, fit) and the X-ray fields shown only for
// an X-ray. Set up on htmx:load (the page and every piece swapped in, like documents.js);
// each widget is marked once set up, so running twice binds nothing twice.
(function () {
  "use strict";

  const STEPS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8];

  function setUpZoom(viewer) {
    if (viewer.dataset.zoomReady) return;
    viewer.dataset.zoomReady = "1";
    const stage = viewer.querySelector("[data-zoom-stage]");
    const image = viewer.querySelector("[data-zoom-image]");
    const label = viewer.querySelector("[data-zoom-level]");
    if (!stage || !image) return;
    let scale = 1;

    const fitScale = () => {
      if (!image.naturalWidth) return 1;
      return Math.min(1, stage.clientWidth / image.naturalWidth, stage.clientHeight / image.naturalHeight);
    };
    const apply = (value) => {
      scale = value;
      image.style.width = `${Math.round(image.naturalWidth * scale)}px`;
      image.style.maxWidth = "none";
      viewer.dataset.zoom = scale.toFixed(2);
      if (label) label.textContent = `${Math.round(scale * 100)}%`;
    };
    const fit = () => apply(fitScale());

    viewer.addEventListener("click", (event) => {
      const button = event.target.closest("[data-zoom]");
      if (!button) return;
      const which = button.dataset.zoom;
      if (which === "fit") return fit();
      const next = which === "in" ? STEPS.find((step) => step > scale + 0.001) : [...STEPS].reverse().find((step) => step < scale - 0.001);
      if (next) apply(next);
    });
    stage.addEventListener("wheel", (event) => {
      if (!event.ctrlKey) return; // a plain wheel scrolls the picture
      event.preventDefault();
      apply(Math.min(8, Math.max(0.1, scale * (event.deltaY < 0 ? 1.25 : 0.8))));
    }, { passive: false });
    if (image.complete && image.naturalWidth) fit();
    else image.addEventListener("load", fit, { once: true });
  }

  function setUpForm(form) {
    if (form.dataset.imageFormReady) return;
    form.dataset.imageFormReady = "1";
    const kind = form.querySelector("select[name=kind]");
    const xray = form.querySelector("[data-xray-fields]");
    if (!kind || !xray) return;
    const show = () => { xray.hidden = kind.value !== "xray"; };
    kind.addEventListener("change", show);
    show();
  }

  htmx.onLoad((root) => {
    const within = (selector) => [...(root.matches && root.matches(selector) ? [root] : []), ...root.querySelectorAll(selector)];
    within("[data-image-viewer]").forEach(setUpZoom);
    within("[data-image-form]").forEach(setUpForm);
  });
})();

// The template editor (Documents): Jodit on the text, and the placeholder buttons above it,
// which insert {{key}} where the cursor is. Text pasted from Word keeps its headings, bold,
// lists and tables; the server cleans it on save (documents/sanitize.py).
(function () {
  "use strict";

  const TOOLBAR = [
    "bold", "italic", "underline", "strikethrough", "|",
    "paragraph", "align", "|",
    "ul", "ol", "indent", "outdent", "|",
    "table", "hr", "|",
    "undo", "redo", "|",
    "eraser", "source", "fullsize",
  ];

  function setUp(textarea) {
    textarea.dataset.richTextReady = "1";
    const english = (document.documentElement.lang || "ru").startsWith("en");
    const editor = Jodit.make(textarea, {
      language: english ? "en" : "ru",
      height: 600,
      toolbarAdaptive: false,
      buttons: TOOLBAR,
      statusbar: false,
      // Word's text comes in as HTML (its classes turned into inline styles by Jodit),
      // without asking each time; what is not allowed is dropped on save.
      askBeforePasteFromWord: false,
      askBeforePasteHTML: false,
      defaultActionOnPasteFromWord: "insert_as_html",
      defaultActionOnPaste: "insert_as_html",
      disablePlugins: [
        "image", "image-processor", "image-properties", "file", "video", "media", "iframe",
        "speech-recognize", "ai-assistant", "drag-and-drop-element", "print", "preview",
        "about", "powered-by-jodit", "spellcheck", "xpath",
      ],
      uploader: { insertImageAsBase64URI: false },
      // Jodit would load Ace and js-beautify from a CDN for its source view: nothing is
      // loaded from outside, so the source view is a plain text area.
      sourceEditor: "area",
      beautifyHTML: false,
      link: { noFollowCheckbox: false, openInNewTabCheckbox: false },
    });
    textarea.joditEditor = editor;
    const form = textarea.form;
    const buttons = form && form.querySelector("[data-placeholder-buttons]");
    if (!buttons) return;
    // A mousedown would move the focus, and the cursor, out of the text.
    buttons.addEventListener("mousedown", (event) => {
      if (event.target.closest("[data-token]")) event.preventDefault();
    });
    buttons.addEventListener("click", (event) => {
      const button = event.target.closest("[data-token]");
      if (!button) return;
      if (!editor.s.isFocused()) editor.s.focus();
      editor.s.insertHTML(button.dataset.token);
      editor.synchronizeValues();
    });
  }

  htmx.onLoad((root) => {
    const selector = "textarea[data-rich-text]:not([data-rich-text-ready])";
    const found = [...root.querySelectorAll(selector)];
    if (root.matches && root.matches(selector)) found.unshift(root);
    found.forEach(setUp);
  });
})();

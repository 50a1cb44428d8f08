// Modal dialogs on the native <dialog> element: the browser traps focus, makes the rest of
// the page inert and closes on Escape; we label it, focus its first field and give focus
// back to whatever opened it.

import { h, ICONS, icon, uid } from "../dom.js";

/**
 * openDialog({title, body, footer, onClose, size}) → {el, close()}. `body` and `footer`
 * are nodes (a form usually puts its buttons in `footer` with form="<id>").
 */
export function openDialog({ title, description, body, footer, onClose, initialFocus }) {
  const opener = document.activeElement;
  const titleId = uid("dialog-title");
  const descriptionId = description ? uid("dialog-desc") : null;
  const el = h(
    "dialog",
    { class: "dialog", "aria-labelledby": titleId, "aria-describedby": descriptionId },
    h(
      "div",
      { class: "flex items-start justify-between gap-4 border-b border-slate-200 px-5 py-4 dark:border-slate-700" },
      h(
        "div",
        {},
        h("h2", { id: titleId, class: "text-lg font-semibold" }, title),
        description ? h("p", { id: descriptionId, class: "muted mt-1 text-sm" }, description) : null,
      ),
      h(
        "button",
        { type: "button", class: "btn btn-ghost btn-small", "aria-label": "Close", onClick: () => close() },
        icon(ICONS.close, "size-5"),
      ),
    ),
    h("div", { class: "px-5 py-4" }, body),
    footer ? h("div", { class: "flex flex-wrap justify-end gap-2 border-t border-slate-200 px-5 py-4 dark:border-slate-700" }, footer) : null,
  );
  let closed = false;
  function close(result) {
    if (closed) return;
    closed = true;
    if (el.open) el.close();
    el.remove();
    if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    onClose?.(result);
  }
  el.addEventListener("cancel", (event) => {
    event.preventDefault();
    close();
  });
  el.addEventListener("close", () => close());
  document.body.append(el);
  el.showModal();
  const first = initialFocus ? el.querySelector(initialFocus) : el.querySelector("input:not([type=hidden]), select, textarea");
  (first || el.querySelector("button"))?.focus();
  return { el, close };
}

/** Asks a yes/no question; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const dialog = openDialog({
      title,
      body: h("p", {}, message),
      footer: [
        h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
        h(
          "button",
          {
            type: "button",
            class: danger ? "btn btn-danger" : "btn btn-primary",
            onClick: () => {
              answer = true;
              dialog.close();
            },
          },
          confirmLabel,
        ),
      ],
      onClose: () => resolve(answer),
      initialFocus: "button.btn-secondary",
    });
  });
}

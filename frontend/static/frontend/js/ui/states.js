// What a page shows while loading, when there is nothing yet, and when something failed:
// always a sentence saying what to do next.

import { h } from "../dom.js";

/** The page's heading row: <h1>, an optional line under it, and actions on the right. */
export function pageHeader(title, { subtitle, actions = [] } = {}) {
  return h(
    "div",
    { class: "mb-6 flex flex-wrap items-end justify-between gap-3" },
    h(
      "div",
      {},
      h("h1", { class: "text-2xl font-semibold tracking-tight" }, title),
      subtitle ? h("p", { class: "muted mt-1 text-sm" }, subtitle) : null,
    ),
    actions.length ? h("div", { class: "flex flex-wrap gap-2" }, actions) : null,
  );
}

export function loading(label = "Loading…") {
  return h(
    "div",
    { class: "flex items-center gap-3 py-10 muted", role: "status", dataset: { loading: "" } },
    h("span", { class: "size-4 animate-spin rounded-full border-2 border-slate-300 border-t-brand-600", "aria-hidden": "true" }),
    h("span", {}, label),
  );
}

/** Nothing to show yet: what it is and what to do (an action button or link). */
export function emptyState({ title, body, action }) {
  return h(
    "div",
    { class: "rounded-xl border border-dashed border-slate-300 px-6 py-10 text-center dark:border-slate-700" },
    h("p", { class: "font-semibold" }, title),
    body ? h("p", { class: "muted mx-auto mt-1 max-w-md text-sm" }, body) : null,
    action ? h("div", { class: "mt-4 flex justify-center" }, action) : null,
  );
}

/** A failed load: the API's message and a way to try again. */
export function errorState(error, { retry, compact = false } = {}) {
  const message = error?.message || "Something went wrong.";
  return h(
    "div",
    { class: compact ? "alert" : "alert my-6", role: "alert" },
    h("p", { class: "font-semibold" }, compact ? message : "This could not be loaded."),
    compact ? null : h("p", { class: "mt-1" }, message),
    retry
      ? h("button", { type: "button", class: "btn btn-secondary btn-small mt-3", onClick: () => retry() }, "Try again")
      : null,
  );
}

export function notFoundPage(path, home) {
  return h(
    "div",
    { class: "mx-auto max-w-md py-16 text-center" },
    h("h1", { class: "text-2xl font-semibold" }, "Page not found"),
    h("p", { class: "muted mt-2" }, `There is no page at ${path}. Check the address, or go back to the start.`),
    h("a", { class: "btn btn-primary mt-6", href: `#${home}` }, "Go to the start"),
  );
}

// Shared by the budgets, goals and recurring pages: the book's base currency (the one
// budgets and goals are kept in), budget-month arithmetic, progress bars with their status
// in words, and a page-numbered list shown one page at a time ("Load more").

import { api, book } from "../api.js";
import { me } from "../auth.js";
import { h } from "../dom.js";
import { cached } from "../store.js";
import { toast } from "./toast.js";

/** The base currency of the current book: the person's own, or the shared book's. */
export async function bookCurrency() {
  const id = book();
  if (!id) return (await me()).base_currency;
  const shared = await cached(`book:${id}`, () => api(`/books/${id}/`));
  return shared.base_currency;
}

/** "2026-03", 1 → "2026-04"; "2026-01", -1 → "2025-12". */
export function addMonths(month, count) {
  const [year, mon] = month.split("-").map(Number);
  const index = year * 12 + (mon - 1) + count;
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`;
}

export const BUDGET_STATUS = {
  ok: { text: "On track", badge: "badge badge-ok", fill: "bar-fill bar-ok" },
  warn: { text: "Nearly used", badge: "badge badge-warn", fill: "bar-fill bar-warn" },
  exceeded: { text: "Over budget", badge: "badge badge-exceeded", fill: "bar-fill bar-exceeded" },
};

/** A status badge: colour and words, so the state never rests on colour alone. */
export function statusBadge(status) {
  const look = BUDGET_STATUS[status] || BUDGET_STATUS.ok;
  return h("span", { class: look.badge, dataset: { status } }, look.text);
}

/** A progress bar (decoration: the figures are always in the text beside it). */
export function progressBar(percentUsed, status = "ok") {
  const fill = h("div", { class: (BUDGET_STATUS[status] || BUDGET_STATUS.ok).fill });
  fill.style.width = `${Math.max(0, Math.min(100, Number(percentUsed) || 0))}%`;
  return h("div", { class: "bar", "aria-hidden": "true" }, fill);
}

/** A definition list of label/value pairs (nulls left out), two columns on wider cards. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "mt-3 grid grid-cols-2 gap-x-4 gap-y-2 text-sm" },
    pairs
      .filter(Boolean)
      .map(([label, value]) => h("div", { class: "min-w-0" }, h("dt", { class: "muted text-xs" }, label), h("dd", { class: "tabular-nums" }, value))),
  );
}

/**
 * One page-numbered list, a page at a time. add(rows) draws the rows of each page;
 * load() fetches the next page (the first call, the first page) and returns it; `footer`
 * holds the count and the "Load more" button. Never asks for more than one page.
 */
export function pager({ path, query = {}, pageSize = 20, signal, add, noun }) {
  const status = h("p", { class: "muted text-sm", role: "status" });
  const more = h("button", { type: "button", class: "btn btn-secondary btn-small", hidden: true }, `Load more ${noun}`);
  const footer = h("div", { class: "mt-3 flex flex-wrap items-center justify-between gap-3" }, status, more);
  let next = path;
  let params = { ...query, page_size: pageSize };
  let shown = 0;
  let total = 0;

  function describe() {
    if (!shown) status.textContent = "";
    else if (next) status.textContent = `Showing ${shown.toLocaleString()} of ${total.toLocaleString()} ${noun}.`;
    else status.textContent = shown > pageSize ? `All ${shown.toLocaleString()} ${noun} shown.` : "";
    more.hidden = !next;
  }

  async function load() {
    more.disabled = true;
    try {
      const page = await api(next, { query: params, signal });
      params = undefined;
      next = page.next;
      total = page.count ?? total;
      add(page.results);
      shown += page.results.length;
      describe();
      return page;
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener("click", () =>
    load().catch((error) => error.name !== "AbortError" && toast(error.message, { error: true })),
  );
  return {
    footer,
    load,
    /** A row went away (deleted, or no longer matching the filter). */
    removed() {
      shown = Math.max(0, shown - 1);
      total = Math.max(0, total - 1);
      describe();
    },
    get shown() {
      return shown;
    },
  };
}

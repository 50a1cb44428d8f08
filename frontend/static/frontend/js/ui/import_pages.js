// Small pieces the import and export pages share: a page-numbered list shown one page at
// a time (Previous / Next), a success notice, and waiting for a queued import job.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { errorState, loading } from "./states.js";

/** A green "done" message (role=status, so screen readers hear it). */
export function notice(...children) {
  return h(
    "div",
    {
      class: "rounded-lg border border-emerald-300 bg-emerald-50 px-4 py-3 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100",
      role: "status",
      tabindex: "-1",
    },
    children,
  );
}

/**
 * A list of one page at a time of a page-numbered endpoint.
 *   draw(rows) → Node for a page's rows; empty() → Node when there are none.
 * Returns {el, load(page = current)}; load() again after a change redraws the same page
 * (or the one before, when the last row of the last page went away).
 */
export function pagedList({ path, pageSize = 10, draw, empty, noun, signal }) {
  const body = h("div", {}, loading(`Loading ${noun}…`));
  const status = h("p", { class: "muted text-sm", "aria-live": "polite" });
  const previous = h("button", { type: "button", class: "btn btn-secondary btn-small" }, "Previous");
  const next = h("button", { type: "button", class: "btn btn-secondary btn-small" }, "Next");
  const nav = h("div", { class: "mt-3 flex flex-wrap items-center justify-between gap-3", hidden: true }, status, h("div", { class: "flex gap-2" }, previous, next));
  let current = 1;

  async function load(page = current) {
    try {
      const data = await api(path(), { query: { page, page_size: pageSize }, signal });
      const pages = Math.max(1, Math.ceil((data.count || 0) / pageSize));
      if (!data.results.length && page > 1) return load(Math.min(page - 1, pages));
      current = page;
      replace(body, data.results.length ? draw(data.results) : empty());
      nav.hidden = pages <= 1;
      status.textContent = `Page ${page} of ${pages} (${data.count.toLocaleString()} ${noun})`;
      previous.disabled = page <= 1;
      next.disabled = page >= pages;
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error.status === 404 && page > 1) return load(1);
      replace(body, errorState(error, { retry: () => load(page), compact: true }));
    }
  }
  previous.addEventListener("click", () => load(current - 1));
  next.addEventListener("click", () => load(current + 1));
  return { el: h("div", {}, body, nav), load };
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Left the page", "AbortError"));
    });
  });
}

/**
 * Polls GET /imports/{id}/ until its status is one of `done` (a queued commit or undo,
 * SPEC §11); resolves with the batch, or null when it is gone (an undo deletes it).
 * onTick(batch) runs after every answer.
 */
export async function waitForBatch(path, { done, signal, onTick }) {
  let delay = 500;
  for (;;) {
    let batch;
    try {
      batch = await api(path, { signal });
    } catch (error) {
      if (error.status === 404) return null;
      throw error;
    }
    onTick?.(batch);
    if (done.includes(batch.status)) return batch;
    await pause(delay, signal);
    delay = Math.min(delay * 1.5, 4000);
  }
}

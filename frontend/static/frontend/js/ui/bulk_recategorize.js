// Bulk recategorise on the transactions page: a checkbox per row and a bar that moves the
// selected records to one category at once (`POST /expenses/recategorize/` or
// `/incomes/recategorize/`: all of them or none). Expenses and income have categories of
// their own kinds, so a selection mixing both is refused with a note saying what to do.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { recordPath } from "../records.js";
import { categories, categoryOptions } from "../store.js";
import { toast } from "./toast.js";

// The API's limit per request (ledger.serializers.RECATEGORIZE_MAX).
const MAX = 1000;

const key = (row) => `${row.kind}:${row.id}`;

/**
 * bulkRecategorize({onChanged}) → {el, checkbox(row), forget(row)}. `el` is the selection
 * bar (hidden while nothing is selected); `checkbox(row)` makes a row's select box;
 * `onChanged(rows)` gets the moved rows, changed, to redraw them.
 */
export function bulkRecategorize({ onChanged }) {
  const selected = new Map(); // "kind:id" → row
  const boxes = new Map(); // "kind:id" → the row's checkbox now on the page
  const count = h("p", { class: "font-medium sm:self-center", role: "status", "aria-live": "polite" });
  const select = h("select", { class: "input", id: "bulk-category" });
  const note = h("p", { class: "hint w-full", hidden: true });
  const apply = h("button", { type: "button", class: "btn btn-primary" }, "Move");
  const clear = h("button", { type: "button", class: "btn btn-secondary" }, "Clear selection");
  const el = h(
    "section",
    { class: "card mt-4 flex flex-wrap items-end gap-3", hidden: true, "aria-label": "Selected transactions" },
    count,
    h("div", { class: "min-w-48" }, h("label", { for: "bulk-category", class: "label" }, "Move to category"), select),
    apply,
    clear,
    note,
  );
  let optionsKind = null;

  async function refresh() {
    el.hidden = selected.size === 0;
    count.textContent = `${selected.size.toLocaleString()} selected`;
    const kinds = new Set([...selected.values()].map((row) => row.kind));
    const mixed = kinds.size > 1;
    const tooMany = selected.size > MAX;
    note.hidden = !mixed && !tooMany;
    note.textContent = mixed
      ? "Expenses and income have different categories: select only expenses, or only income, to move them together."
      : `Move at most ${MAX.toLocaleString()} at a time: clear some of the selection.`;
    apply.disabled = mixed || tooMany || selected.size === 0;
    select.disabled = mixed;
    const kind = kinds.size === 1 ? [...kinds][0] : null;
    if (kind && kind !== optionsKind) {
      optionsKind = kind;
      const options = await categoryOptions(kind);
      replace(select, h("option", { value: "" }, "No category"), options.map((o) => h("option", { value: o.value }, o.label)));
    }
  }

  function set(row, on) {
    if (on) selected.set(key(row), row);
    else selected.delete(key(row));
    const box = boxes.get(key(row));
    if (box) box.checked = on;
  }

  function checkbox(row) {
    const box = h("input", {
      type: "checkbox",
      class: "size-4 rounded border-slate-400",
      "aria-label": `Select ${row.description}`,
      checked: selected.has(key(row)),
    });
    box.addEventListener("change", () => {
      set(row, box.checked);
      refresh();
    });
    boxes.set(key(row), box);
    return box;
  }

  clear.addEventListener("click", () => {
    [...selected.values()].forEach((row) => set(row, false));
    refresh();
  });

  apply.addEventListener("click", async () => {
    const rows = [...selected.values()];
    const category = select.value ? Number(select.value) : null;
    apply.disabled = true;
    try {
      const result = await api(`${recordPath(rows[0].kind)}recategorize/`, {
        method: "POST",
        body: { ids: rows.map((row) => row.id), category },
      });
      const name = category ? (await categories()).find((c) => c.id === category)?.name ?? null : null;
      const moved = rows.map((row) => ({ ...row, category, category_name: name, suggested_category: null, suggested_category_name: null, suggested_confidence: null }));
      rows.forEach((row) => set(row, false));
      moved.forEach((row) => boxes.delete(key(row)));
      onChanged(moved);
      const what = result.updated === 1 ? "1 transaction" : `${result.updated.toLocaleString()} transactions`;
      toast(name ? `Moved ${what} to ${name}.` : `Removed the category of ${what}.`);
    } catch (error) {
      toast(`Nothing was moved: ${error.message}`, { error: true });
    }
    refresh();
  });

  return {
    el,
    checkbox,
    forget(row) {
      set(row, false);
      boxes.delete(key(row));
      refresh();
    },
  };
}

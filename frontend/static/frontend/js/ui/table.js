// A data table whose rows can be appended as more pages arrive (keyset scrolling).

import { h } from "../dom.js";

/**
 * dataTable({caption, columns, rows}) → {el, add(rows) → [tr], row(data) → tr, clear(), size()}.
 * columns: [{label, cell: (row) => Node|string, class, numeric}]; `class` goes on the
 * header and every cell (e.g. "hidden md:table-cell" to drop a column on phones);
 * `numeric` right-aligns. The caption is for screen readers unless `showCaption`.
 */
export function dataTable({ caption, columns, rows = [], showCaption = false, rowClass }) {
  const body = h("tbody");
  const align = (c) => [c.class || "", c.numeric ? "text-right tabular-nums" : ""].join(" ").trim();
  const el = h(
    "div",
    { class: "overflow-x-auto" },
    h(
      "table",
      { class: "table" },
      caption ? h("caption", { class: showCaption ? "mb-2 text-left font-semibold" : "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: align(c) }, c.label)))),
      body,
    ),
  );
  let count = 0;
  const row = (data) => h("tr", { class: rowClass ? rowClass(data) : null }, columns.map((c) => h("td", { class: align(c) }, c.cell(data))));
  function add(more) {
    const added = more.map(row);
    body.append(...added);
    count += added.length;
    return added;
  }
  add(rows);
  return {
    el,
    add,
    row,
    clear() {
      body.replaceChildren();
      count = 0;
    },
    size: () => count,
  };
}

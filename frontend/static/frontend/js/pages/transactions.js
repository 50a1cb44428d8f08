// Expenses and income in one list, newest first, with filters and search. Both lists
// page by cursor (keyset) on the server; this page merges the two streams and asks for the
// next page of a stream only when its buffered rows run out, as the person scrolls —
// never the whole list, however long it is.

import { api } from "../api.js";
import { me } from "../auth.js";
import { h, ICONS, icon, replace, srOnly } from "../dom.js";
import { money, shortDate } from "../format.js";
import { editRecord, KINDS, recordPath, viewReceipt } from "../records.js";
import { go, route } from "../router.js";
import { categories, on } from "../store.js";
import { currentBook } from "../ui/book_switcher.js";
import { bulkRecategorize } from "../ui/bulk_recategorize.js";
import { field, formAlert, showErrors } from "../ui/forms.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";

const PAGE_SIZE = 50;
const FILTERS = ["type", "start_date", "end_date", "category", "search"];

/**
 * Merges the newest-first cursor streams of expenses and income (`-date,-id` each) into
 * one newest-first sequence. more() returns up to PAGE_SIZE rows, fetching a stream's
 * next page only when its buffer is empty.
 */
export class MergedFeed {
  constructor(streams, signal) {
    this.signal = signal;
    this.streams = streams.map(({ kind, query }) => ({ kind, next: recordPath(kind), query, buffer: [], done: false, first: true }));
    this.total = 0;
    this.capped = false;
  }

  get exhausted() {
    return this.streams.every((s) => s.done && !s.buffer.length);
  }

  async fill(stream) {
    const page = await api(stream.next, { query: stream.first ? { ...stream.query, page_size: PAGE_SIZE } : undefined, signal: this.signal });
    if (stream.first) {
      this.total += page.count ?? 0;
      this.capped = this.capped || (page.count ?? 0) >= 10_000;
    }
    stream.first = false;
    stream.buffer.push(...page.results.map((row) => ({ ...row, kind: stream.kind })));
    stream.next = page.next;
    stream.done = !page.next;
  }

  async more() {
    const rows = [];
    while (rows.length < PAGE_SIZE) {
      await Promise.all(this.streams.filter((s) => !s.buffer.length && !s.done).map((s) => this.fill(s)));
      const live = this.streams.filter((s) => s.buffer.length);
      if (!live.length) break;
      live.sort((a, b) => newestFirst(a.buffer[0], b.buffer[0]));
      rows.push(live[0].buffer.shift());
    }
    return rows;
  }
}

function newestFirst(a, b) {
  if (a.date !== b.date) return a.date < b.date ? 1 : -1;
  if (a.kind !== b.kind) return a.kind === "expense" ? -1 : 1;
  return b.id - a.id;
}

function streamsFor(filters, categoryKind) {
  const query = { start_date: filters.start_date, end_date: filters.end_date, search: filters.search, category: filters.category };
  const kinds = categoryKind ? [categoryKind] : filters.type === "expense" || filters.type === "income" ? [filters.type] : ["expense", "income"];
  return kinds.map((kind) => ({ kind, query }));
}

route({
  path: "/transactions",
  title: "Transactions",
  nav: { label: "Transactions", order: 20 },
  render: async (ctx) => {
    const filters = Object.fromEntries(FILTERS.map((name) => [name, ctx.params.get(name) || ""]));
    const [allCategories, user, shownBook] = await Promise.all([categories(), me(), currentBook()]);
    // A viewer of a shared book reads it: no add, edit or recategorise controls (the API
    // would refuse them with 403 anyway).
    const canWrite = shownBook.role !== "viewer";
    const base = user.base_currency;
    const categoryKind = allCategories.find((c) => String(c.id) === filters.category)?.kind;
    const filtered = FILTERS.some((name) => filters[name]);

    const add = h("button", { type: "button", class: "btn btn-primary", onClick: () => editRecord({ kind: filters.type === "income" ? "income" : "expense" }) }, icon(ICONS.plus, "size-4"), "Add transaction");
    const filterPanel = filtersForm(filters, allCategories);
    const filterForm = filterPanel.querySelector("form");
    const status = h("p", { class: "muted text-sm", role: "status", "aria-live": "polite" });
    const results = h("div", {}, loading("Loading transactions…"));
    const moreButton = h("button", { type: "button", class: "btn btn-secondary", hidden: true }, "Load more");
    const sentinel = h("div", { "aria-hidden": "true", class: "h-1" });

    const bulk = bulkRecategorize({ onChanged: (rows) => rows.forEach(redraw) });
    const table = dataTable({
      caption: "Transactions, newest first",
      columns: [
        canWrite ? { label: srOnly("Select"), class: "w-px", cell: (row) => bulk.checkbox(row) } : null,
        { label: "Date", cell: (row) => h("time", { datetime: row.date, class: "whitespace-nowrap" }, shortDate(row.date)) },
        { label: "Description", cell: describe },
        { label: "Category", class: "hidden sm:table-cell", cell: (row) => row.category_name || h("span", { class: "muted" }, "None") },
        { label: "Amount", numeric: true, cell: amount },
        { label: srOnly("Actions"), class: "w-px", cell: actions },
      ].filter(Boolean),
    });
    const rowsById = new Map();

    function describe(row) {
      const detail = row.kind === "expense" ? row.merchant : row.source;
      return h(
        "div",
        { class: "min-w-0" },
        h("p", { class: "font-medium" }, row.description),
        h(
          "p",
          { class: "muted text-xs" },
          [KINDS[row.kind].label, detail, ...(row.tags || []).map((t) => `#${t}`)].filter(Boolean).join(" · "),
          h("span", { class: "sm:hidden" }, row.category_name ? ` · ${row.category_name}` : ""),
        ),
      );
    }

    function amount(row) {
      return h(
        "div",
        { class: "whitespace-nowrap" },
        h("span", { class: row.kind === "income" ? "amount-in" : "" }, row.kind === "income" ? `+${money(row.amount, row.currency)}` : money(row.amount, row.currency)),
        // Another currency: what it counted as in the base currency, which reports sum.
        row.currency !== base && row.base_amount ? h("p", { class: "muted text-xs" }, money(row.base_amount, base)) : null,
      );
    }

    function actions(row) {
      return h(
        "div",
        { class: "flex justify-end gap-1" },
        row.receipt
          ? h(
              "button",
              { type: "button", class: "btn btn-ghost btn-small", "aria-label": `View the receipt of ${row.description}`, title: "View the receipt", onClick: () => viewReceipt(row) },
              icon(ICONS.receipt, "size-4"),
            )
          : null,
        canWrite
          ? h(
              "button",
              { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Edit ${row.description}`, onClick: () => openRow(row) },
              "Edit",
            )
          : null,
      );
    }

    async function openRow(row) {
      const result = await editRecord({ record: row });
      if (!result) return;
      if (result.deleted) {
        rowsById.get(`${row.kind}:${row.id}`)?.remove();
        rowsById.delete(`${row.kind}:${row.id}`);
        bulk.forget(row);
      } else {
        redraw({ ...result, kind: row.kind });
      }
    }

    function redraw(row) {
      const tr = rowsById.get(`${row.kind}:${row.id}`);
      if (!tr) return;
      const fresh = table.row(row);
      tr.replaceWith(fresh);
      rowsById.set(`${row.kind}:${row.id}`, fresh);
    }

    const feed = new MergedFeed(streamsFor(filters, categoryKind), ctx.signal);
    let shown = 0;
    let busy = false;
    async function loadMore() {
      if (busy || feed.exhausted) return;
      busy = true;
      moreButton.disabled = true;
      try {
        const rows = await feed.more();
        if (ctx.signal.aborted) return;
        if (shown === 0) {
          replace(results, rows.length ? table.el : empty(filtered));
        }
        table.add(rows).forEach((tr, i) => rowsById.set(`${rows[i].kind}:${rows[i].id}`, tr));
        shown += rows.length;
        const total = feed.capped ? `${feed.total.toLocaleString()}+` : feed.total.toLocaleString();
        status.textContent = shown ? (feed.exhausted ? `All ${shown.toLocaleString()} transactions shown.` : `Showing ${shown.toLocaleString()} of ${total} transactions.`) : "";
        moreButton.hidden = feed.exhausted;
      } catch (error) {
        if (error.name === "AbortError") return;
        if (error.status === 400) {
          showErrors(filterForm, error);
          replace(results, errorState(error, { compact: true }));
        } else {
          replace(results, errorState(error, { retry: ctx.reload }));
        }
      } finally {
        busy = false;
        moreButton.disabled = false;
      }
    }
    moreButton.addEventListener("click", loadMore);
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadMore(), { rootMargin: "600px" });
    observer.observe(sentinel);
    ctx.onLeave(() => observer.disconnect());
    ctx.onLeave(on("records:changed", ({ deleted, id, kind }) => {
      // Edits and deletes update their row in place; a new record may belong anywhere.
      if (!deleted && !rowsById.has(`${kind}:${id}`)) ctx.reload();
    }));

    await loadMore();
    return h(
      "div",
      {},
      pageHeader("Transactions", {
        subtitle: canWrite ? "Expenses and income, newest first." : "Expenses and income, newest first. You can read this book, not change it.",
        actions: canWrite ? [add] : [],
      }),
      filterPanel,
      bulk.el,
      h("div", { class: "card mt-6 p-0 sm:p-0" }, h("div", { class: "p-2 sm:p-3" }, results)),
      h("div", { class: "mt-4 flex flex-wrap items-center justify-between gap-3" }, status, moreButton),
      sentinel,
    );
  },
});

function empty(filtered) {
  return filtered
    ? emptyState({
        title: "No transactions match these filters",
        body: "Try a wider date range, another category, or fewer search words.",
        action: h("a", { class: "btn btn-secondary", href: "#/transactions" }, "Clear the filters"),
      })
    : emptyState({
        title: "No transactions yet",
        body: "Add an expense or income by hand with “Add transaction”, and it shows up here.",
      });
}

function filtersForm(filters, allCategories) {
  const group = (kind, label) =>
    h(
      "optgroup",
      { label },
      allCategories
        .filter((c) => c.kind === kind)
        .map((c) => h("option", { value: String(c.id), selected: String(c.id) === filters.category }, c.name)),
    );
  const categorySelect = field({ name: "category", label: "Category", type: "select", empty: "Any category", options: [] });
  categorySelect.querySelector("select").append(group("expense", "Expense categories"), group("income", "Income categories"));
  const form = h(
    "form",
    { role: "search", "aria-label": "Filter transactions", class: "grid gap-4 pt-4 sm:grid-cols-2 lg:grid-cols-6" },
    formAlert("sm:col-span-2 lg:col-span-6"),
    field({
      name: "type",
      label: "Type",
      type: "select",
      value: filters.type,
      options: [
        { value: "", label: "All" },
        { value: "expense", label: "Expenses" },
        { value: "income", label: "Income" },
      ],
    }),
    field({ name: "start_date", label: "From", type: "date", value: filters.start_date }),
    field({ name: "end_date", label: "To", type: "date", value: filters.end_date }),
    categorySelect,
    field({ name: "search", label: "Search", type: "search", value: filters.search, placeholder: "Description, merchant, notes", class: "sm:col-span-2 lg:col-span-2" }),
    h(
      "div",
      { class: "flex gap-2 sm:col-span-2 lg:col-span-6" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Apply filters"),
      h("a", { href: "#/transactions", class: "btn btn-secondary" }, "Clear"),
    ),
  );
  form.noValidate = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    go("/transactions", Object.fromEntries(FILTERS.map((name) => [name, String(data.get(name) || "").trim()])));
  });
  // Folded away on phones until used, so the list is on the first screen.
  const open = FILTERS.some((name) => filters[name]) || window.matchMedia("(min-width: 640px)").matches;
  return h(
    "details",
    { class: "card", open },
    h("summary", { class: "cursor-pointer font-semibold" }, "Filters and search"),
    form,
  );
}

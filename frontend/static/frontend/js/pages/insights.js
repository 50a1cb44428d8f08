// Insights of the shown book (SPEC §16, /ai/): the month's summary and tips, the forecast
// for the month's end, unusual spending, a 90-day cash-flow projection, and category
// suggestions for uncategorised expenses (accept one with a click: it becomes the
// expense's category). Every card loads on its own, so one failing leaves the others.

import { api, bookPath } from "../api.js";
import { h, replace } from "../dom.js";
import { compactMoney, date, money, month as monthName, percent, shortDate } from "../format.js";
import { go, href, route } from "../router.js";
import { emit } from "../store.js";
import { currentBook } from "../ui/book_switcher.js";
import { pagedRows } from "../ui/books_paging.js";
import { chartColors, drawChart } from "../ui/charts.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";
import { toast } from "../ui/toast.js";

route({
  path: "/insights",
  title: "Insights",
  nav: { label: "Insights", order: 75 },
  render: async (ctx) => {
    const asked = ctx.params.get("month") || "";
    const month = /^\d{4}-\d{2}$/.test(asked) ? asked : "";
    const query = month ? { month } : {};
    const book = await currentBook();
    const picker = h("input", { type: "month", id: "insights-month", class: "input w-auto", value: month });
    picker.addEventListener("change", () => go("/insights", { month: picker.value }));
    const monthControl = h("div", {}, h("label", { for: "insights-month", class: "label" }, "Month"), picker);

    const summary = card("Summary", "insights-summary", ctx, async () => {
      const data = await api(bookPath("/ai/insights/"), { query, signal: ctx.signal });
      if (!month) picker.value = data.month;
      return h(
        "div",
        {},
        h("p", { class: "text-sm" }, data.summary),
        data.tips.length ? h("ul", { class: "mt-3 list-disc space-y-1 pl-5 text-sm" }, data.tips.map((tip) => h("li", {}, tip))) : null,
        data.budget?.over
          ? h("p", { class: "alert mt-3" }, `At this pace the month ends ${money(data.budget.difference, data.currency)} over its budget of ${money(data.budget.amount, data.currency)}.`)
          : null,
        h("p", { class: "muted mt-3 text-xs" }, `${monthName(data.month)} · as of ${date(data.as_of)} · written by ${data.source === "llm" ? "the local language model" : "rules"}.`),
      );
    });

    const forecast = card("Forecast for the month's end", "insights-forecast", ctx, async () => {
      const data = await api(bookPath("/ai/forecast/"), { query, signal: ctx.signal });
      const { total, currency } = data;
      const rows = data.by_category.slice(0, 8);
      return h(
        "div",
        {},
        h(
          "dl",
          { class: "grid grid-cols-2 gap-3 text-sm sm:grid-cols-4" },
          figure("Expected", money(total.expected, currency)),
          figure("Range", `${money(total.low, currency)} – ${money(total.high, currency)}`),
          figure("Spent so far", money(total.spent, currency)),
          figure("Bills still due", money(total.recurring_due, currency)),
        ),
        rows.length
          ? h(
              "ul",
              { class: "mt-4 divide-y divide-slate-200 text-sm dark:divide-slate-800" },
              rows.map((row) =>
                h(
                  "li",
                  { class: "flex justify-between gap-3 py-2" },
                  h("span", {}, row.category_name),
                  h("span", { class: "tabular-nums" }, `${money(row.spent, currency)} of ≈ ${money(row.expected, currency)}`),
                ),
              ),
            )
          : null,
        h("p", { class: "muted mt-3 text-xs" }, data.method),
      );
    });

    const anomalies = card("Unusual spending", "insights-anomalies", ctx, async () => {
      const data = await api(bookPath("/ai/anomalies/"), { query, signal: ctx.signal });
      if (!data.results.length) return emptyState({ title: "Nothing unusual", body: `No expense or category stands out in ${monthName(data.month)}.` });
      return h(
        "ul",
        { class: "divide-y divide-slate-200 text-sm dark:divide-slate-800" },
        data.results.map((a) =>
          h(
            "li",
            { class: "py-3" },
            h(
              "div",
              { class: "flex flex-wrap justify-between gap-2" },
              h("p", { class: "font-medium" }, a.kind === "expense" ? a.description || a.merchant || "An expense" : a.category_name || "Uncategorised"),
              h("span", { class: "tabular-nums" }, money(a.amount, data.currency)),
            ),
            h("p", { class: "muted mt-0.5" }, a.reason),
            a.kind === "expense" && a.date ? h("p", { class: "muted text-xs" }, h("time", { datetime: a.date }, date(a.date))) : null,
          ),
        ),
      );
    });

    const cashflow = card("Cash flow, next 90 days", "insights-cashflow", ctx, async () => {
      const data = await api(bookPath("/ai/cashflow/"), { query: { days: 90 }, signal: ctx.signal });
      const { currency, days } = data;
      const colors = chartColors();
      const canvas = h("canvas", {
        role: "img",
        "aria-label": `Projected running balance from ${date(days[0]?.date)} to ${date(days[days.length - 1]?.date)}: income ${money(data.total_income, currency)}, expenses ${money(data.total_expenses, currency)}, ending at ${money(data.end_balance, currency)}.`,
      });
      drawChart(
        canvas,
        {
          type: "line",
          data: {
            labels: days.map((d) => shortDate(d.date)),
            datasets: [{ label: "Projected balance", data: days.map((d) => Number(d.balance)), borderColor: colors.income, pointRadius: 0, tension: 0.2 }],
          },
          options: {
            responsive: true,
            maintainAspectRatio: false,
            plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => money(String(item.raw), currency) } } },
            scales: { y: { ticks: { callback: (value) => compactMoney(value, currency) } }, x: { ticks: { maxTicksLimit: 6 } } },
          },
        },
        ctx,
      );
      return h(
        "div",
        {},
        h(
          "dl",
          { class: "mb-3 grid grid-cols-3 gap-3 text-sm" },
          figure("Income", money(data.total_income, currency)),
          figure("Expenses", money(data.total_expenses, currency)),
          figure("Net", money(data.end_balance, currency)),
        ),
        h("div", { class: "relative h-56" }, canvas),
        h("p", { class: "muted mt-3 text-xs" }, `${data.method} Starts from 0: no account balance is recorded.`),
      );
    });

    return h(
      "div",
      { class: "grid gap-6" },
      pageHeader("Insights", { subtitle: `${book.name}: what stands out, where the month is heading, and categories to confirm.`, actions: [monthControl] }),
      h("div", { class: "grid gap-6 lg:grid-cols-2" }, summary, forecast, anomalies, cashflow),
      suggestions(ctx),
    );
  },
});

function figure(label, value) {
  return h("div", {}, h("dt", { class: "muted text-xs" }, label), h("dd", { class: "font-semibold tabular-nums" }, value));
}

/** A titled card whose body loads on its own (an error stays inside the card). */
function card(title, id, ctx, load) {
  const body = h("div", {}, loading(`Loading ${title.toLowerCase()}…`));
  const section = h("section", { class: "card", "aria-labelledby": id }, h("h2", { id, class: "card-title" }, title), body);
  const run = () => {
    replace(body, loading(`Loading ${title.toLowerCase()}…`));
    load()
      .then((node) => !ctx.signal.aborted && replace(body, node))
      .catch((error) => error.name !== "AbortError" && replace(body, errorState(error, { retry: run, compact: true })));
  };
  run();
  return section;
}

function suggestions(ctx) {
  const list = h("ul", { class: "divide-y divide-slate-200 dark:divide-slate-800" });
  const body = h("div", {}, loading("Loading uncategorised expenses…"));
  const paging = pagedRows({
    path: bookPath("/expenses/"),
    query: { uncategorized: "true", page_size: 10 },
    signal: ctx.signal,
    label: "Show more",
    add: (rows, page) => {
      if (!page.previous && !rows.length) {
        replace(body, emptyState({ title: "Every expense has a category", body: "Expenses added without one show up here with a suggested category to accept." }));
        return;
      }
      if (!list.isConnected) replace(body, list);
      list.append(...rows.map((row) => suggestionRow(row)));
    },
  });
  paging.first.catch((error) => error.name !== "AbortError" && replace(body, errorState(error, { compact: true })));
  return h(
    "section",
    { class: "card", "aria-labelledby": "insights-suggestions" },
    h("h2", { id: "insights-suggestions", class: "card-title" }, "Category suggestions"),
    h("p", { class: "muted mb-3 text-sm" }, "Learned from how this book's expenses are categorised. Nothing changes until you accept."),
    body,
    paging.el,
  );
}

function suggestionRow(row) {
  const item = h("li", { class: "flex flex-wrap items-center justify-between gap-3 py-3", dataset: { suggestion: String(row.id) } });
  const detail = h(
    "div",
    { class: "min-w-0" },
    h("p", { class: "font-medium" }, row.description),
    h("p", { class: "muted text-xs" }, [shortDate(row.date), row.merchant, money(row.amount, row.currency)].filter(Boolean).join(" · ")),
  );
  if (!row.suggested_category) {
    item.append(detail, h("span", { class: "muted text-sm" }, "No suggestion yet: ", h("a", { class: "link", href: href("/transactions", { search: row.description }) }, "categorise it")));
    return item;
  }
  const confidence = row.suggested_confidence !== null ? ` (${percent(Number(row.suggested_confidence) * 100)} sure)` : "";
  const accept = h(
    "button",
    {
      type: "button",
      class: "btn btn-primary btn-small",
      "aria-label": `Accept ${row.suggested_category_name} for ${row.description}`,
      onClick: async () => {
        accept.disabled = true;
        try {
          await api(bookPath(`/expenses/${row.id}/`), { method: "PATCH", body: { category: row.suggested_category } });
          toast(`“${row.description}” is now in ${row.suggested_category_name}`);
          emit("records:changed", { kind: "expense", id: row.id });
          replace(item, detail, h("span", { class: "badge badge-ok" }, `Categorised: ${row.suggested_category_name}`));
        } catch (error) {
          accept.disabled = false;
          toast(error.message, { error: true });
        }
      },
    },
    "Accept",
  );
  item.append(detail, h("div", { class: "flex items-center gap-3" }, h("span", { class: "text-sm" }, `${row.suggested_category_name}${confidence}`), accept));
  return item;
}

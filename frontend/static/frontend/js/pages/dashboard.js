// The home screen: this budget month at a glance (GET /reports/dashboard/), the 12-month
// trend (/reports/timeseries/), insights and anomalies (/ai/), unread notifications. Each
// card loads on its own, so one failing endpoint leaves the rest of the page working.

import { api, bookPath } from "../api.js";
import { h, ICONS, icon, replace, uid } from "../dom.js";
import { compactMoney, date, isoDate, money, month, parseDate, percent, shortDate, shortMonth } from "../format.js";
import { editRecord, KINDS } from "../records.js";
import { href, route } from "../router.js";
import { on } from "../store.js";
import { onThemeChange } from "../theme.js";
import { currentBook } from "../ui/book_switcher.js";
import { chartColors, drawChart, palette } from "../ui/charts.js";
import { notificationList, openNotifications, unreadNotifications } from "../ui/notifications.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";

route({
  path: "/dashboard",
  title: "Dashboard",
  nav: { label: "Dashboard", order: 10 },
  render: async (ctx) => {
    ctx.onLeave(on("records:changed", () => ctx.reload()));
    ctx.onLeave(onThemeChange(() => ctx.reload()));
    const [dashboard, shownBook] = await Promise.all([api(bookPath("/reports/dashboard/"), { signal: ctx.signal }), currentBook()]);
    const { summary, currency } = dashboard;
    const canWrite = shownBook.role !== "viewer"; // a viewer reads the book, adds nothing
    const add = h(
      "button",
      { type: "button", class: "btn btn-primary", onClick: () => editRecord() },
      icon(ICONS.plus, "size-4"),
      "Add transaction",
    );
    const page = h(
      "div",
      { class: "space-y-6" },
      pageHeader("Dashboard", {
        subtitle: `${month(dashboard.month)} · ${date(summary.start)} – ${date(summary.end)}`,
        actions: canWrite ? [add] : [],
      }),
    );
    if (summary.expense_count === 0 && summary.income_count === 0 && dashboard.recent_transactions.length === 0) {
      page.append(
        emptyState({
          title: "Welcome! Nothing recorded yet",
          body: canWrite
            ? "Add your first expense or income and this page fills in: spending by category, budgets, trends and insights."
            : "When the book's editors record expenses and income, this page fills in.",
          action: canWrite ? h("button", { type: "button", class: "btn btn-primary", onClick: () => editRecord() }, "Add your first expense") : null,
        }),
      );
    }
    page.append(
      statCards(summary, currency),
      h(
        "div",
        { class: "grid gap-6 lg:grid-cols-3" },
        card("Budgets this month", budgets(dashboard.budgets, currency), { class: "lg:col-span-2" }),
        card("Spending by category", categoryDonut(summary, currency, ctx)),
      ),
      h(
        "div",
        { class: "grid gap-6 lg:grid-cols-3" },
        card("Last 12 months", trend(summary, currency, ctx), { class: "lg:col-span-2" }),
        card("Upcoming bills", upcoming(dashboard.upcoming_bills)),
      ),
      h(
        "div",
        { class: "grid gap-6 lg:grid-cols-3" },
        card("Goals", goals(dashboard.goals, currency)),
        card("Insights", insights(ctx)),
        card("Unread notifications", notifications(ctx)),
      ),
      card("Recent transactions", recent(dashboard.recent_transactions), {
        action: h("a", { class: "link text-sm", href: href("/transactions") }, "All transactions"),
      }),
    );
    return page;
  },
});

function card(title, content, { class: cls = "", action } = {}) {
  const id = uid("card");
  return h(
    "section",
    { class: `card ${cls}`, "aria-labelledby": id },
    h("div", { class: "mb-3 flex items-center justify-between gap-2" }, h("h2", { id, class: "text-base font-semibold" }, title), action),
    content,
  );
}

/** Runs an async loader into a slot: loading, then its content or an error with a retry. */
function deferred(loader) {
  const slot = h("div", {}, loading());
  const run = () => {
    replace(slot, loading());
    loader()
      .then((node) => replace(slot, node))
      .catch((error) => error.name !== "AbortError" && replace(slot, errorState(error, { retry: run, compact: true })));
  };
  run();
  return slot;
}

function statCards(summary, currency) {
  const stat = (label, value, note, cls = "") =>
    h(
      "div",
      { class: "card" },
      h("p", { class: "muted text-sm" }, label),
      h("p", { class: `mt-1 text-2xl font-semibold tabular-nums ${cls}` }, value),
      note ? h("p", { class: "muted mt-1 text-xs" }, note) : null,
    );
  const net = Number(summary.net);
  return h(
    "div",
    { class: "grid grid-cols-2 gap-4 lg:grid-cols-4" },
    stat("Spent", money(summary.total_expenses, currency), `${summary.expense_count} expenses`),
    stat("Income", money(summary.total_income, currency), `${summary.income_count} payments`),
    stat("Net", money(summary.net, currency), summary.savings_rate !== null ? `Savings rate ${percent(summary.savings_rate)}` : "No income yet", net < 0 ? "text-red-700 dark:text-red-300" : ""),
    stat(
      "Budget left",
      summary.budget_total !== null && summary.budget_total !== undefined ? money(summary.budget_remaining, currency) : "—",
      summary.budget_total ? `of ${money(summary.budget_total, currency)}` : "No budget set",
      Number(summary.budget_remaining) < 0 ? "text-red-700 dark:text-red-300" : "",
    ),
  );
}

const STATUS_TEXT = { ok: "On track", warn: "Nearly used", exceeded: "Over budget" };
const BADGE = { ok: "badge badge-ok", warn: "badge badge-warn", exceeded: "badge badge-exceeded" };
const FILL = { ok: "bar-fill bar-ok", warn: "bar-fill bar-warn", exceeded: "bar-fill bar-exceeded" };

/** A progress bar; the figures are in the text next to it, the bar is decoration. */
export function bar(percentUsed, status = "ok") {
  const fill = h("div", { class: FILL[status] || "bar-fill" });
  fill.style.width = `${Math.max(0, Math.min(100, Number(percentUsed) || 0))}%`;
  return h("div", { class: "bar", "aria-hidden": "true" }, fill);
}

function budgets(overview, currency) {
  const lines = [overview.overall, ...overview.items].filter(Boolean);
  if (!lines.length) {
    return emptyState({
      title: "No budgets this month",
      body: "Set a monthly budget overall or per category to see how much is left and get alerts before you overspend.",
    });
  }
  const { counts } = overview;
  return h(
    "div",
    {},
    h(
      "p",
      { class: "muted mb-4 text-sm" },
      `${counts.ok} on track · ${counts.warn} nearly used · ${counts.exceeded} over budget`,
    ),
    h(
      "ul",
      { class: "space-y-4" },
      lines.map((line) =>
        h(
          "li",
          {},
          h(
            "div",
            { class: "mb-1 flex flex-wrap items-center justify-between gap-2 text-sm" },
            h("span", { class: "font-medium" }, line.scope === "overall" ? "Overall" : line.category_name),
            h("span", { class: BADGE[line.status] }, STATUS_TEXT[line.status]),
          ),
          bar(line.percent_used, line.status),
          h(
            "p",
            { class: "muted mt-1 text-xs tabular-nums" },
            `${money(line.spent, currency)} of ${money(line.available, currency)} (${percent(line.percent_used)}) · `,
            Number(line.remaining) >= 0 ? `${money(line.remaining, currency)} left` : `${money(line.remaining.replace(/^-/, ""), currency)} over`,
          ),
        ),
      ),
    ),
  );
}

function categoryDonut(summary, currency, ctx) {
  const rows = summary.by_category.filter((row) => Number(row.total) > 0);
  if (!rows.length) {
    return emptyState({ title: "No spending yet this month", body: "Expenses you add appear here by category." });
  }
  const name = (row) => row.category_name || "Uncategorised";
  const canvas = h("canvas", {
    role: "img",
    "aria-label": `Spending by category: ${rows.map((row) => `${name(row)} ${percent(row.percent)}`).join(", ")}`,
  });
  drawChart(
    canvas,
    {
      type: "doughnut",
      data: {
        labels: rows.map(name),
        datasets: [{ data: rows.map((row) => Number(row.total)), backgroundColor: rows.map((_, i) => palette(i)), borderColor: chartColors().surface, borderWidth: 2 }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        cutout: "62%",
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => `${item.label}: ${money(String(rows[item.dataIndex].total), currency)}` } },
        },
      },
    },
    ctx,
  );
  return h(
    "div",
    {},
    h("div", { class: "relative mx-auto h-48 w-full max-w-56" }, canvas),
    h(
      "ul",
      { class: "mt-4 space-y-1.5 text-sm" },
      rows.slice(0, 8).map((row, i) => {
        const swatch = h("span", { class: "inline-block size-3 shrink-0 rounded-sm", "aria-hidden": "true" });
        swatch.style.backgroundColor = palette(i);
        return h(
          "li",
          { class: "flex items-center gap-2" },
          swatch,
          h("span", { class: "min-w-0 flex-1 truncate" }, name(row)),
          h("span", { class: "tabular-nums" }, money(row.total, currency)),
          h("span", { class: "muted w-14 text-right tabular-nums" }, percent(row.percent)),
        );
      }),
    ),
  );
}

function trend(summary, currency, ctx) {
  const start = parseDate(summary.start);
  const from = isoDate(new Date(start.getFullYear(), start.getMonth() - 11, start.getDate()));
  const query = { bucket: "month", start: from, end: summary.end };
  return deferred(async () => {
    const [expenses, income] = await Promise.all([
      api(bookPath("/reports/timeseries/"), { query: { ...query, kind: "expense" }, signal: ctx.signal }),
      api(bookPath("/reports/timeseries/"), { query: { ...query, kind: "income" }, signal: ctx.signal }),
    ]);
    const labels = expenses.points.map((p) => shortMonth(p.period_start));
    const colors = chartColors();
    const canvas = h("canvas", {
      role: "img",
      "aria-label": `Income and expenses per month, ${labels[0]} to ${labels[labels.length - 1]}. ${expenses.points
        .map((p, i) => `${labels[i]}: spent ${money(p.total, currency)}, earned ${money(income.points[i]?.total, currency)}`)
        .join("; ")}.`,
    });
    drawChart(
      canvas,
      {
        type: "bar",
        data: {
          labels,
          datasets: [
            { label: "Expenses", data: expenses.points.map((p) => Number(p.total)), backgroundColor: colors.expense, borderRadius: 4 },
            { label: "Income", data: income.points.map((p) => Number(p.total)), backgroundColor: colors.income, borderRadius: 4 },
          ],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          plugins: {
            legend: { position: "bottom" },
            tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${money(String(item.raw), currency)}` } },
          },
          scales: { y: { beginAtZero: true, ticks: { callback: (value) => compactMoney(value, currency) } } },
        },
      },
      ctx,
    );
    return h("div", { class: "relative h-64" }, canvas);
  });
}

function upcoming(bills) {
  if (!bills.length) {
    return emptyState({ title: "No bills due soon", body: "Recurring bills due in the next 30 days are listed here." });
  }
  return h(
    "ul",
    { class: "divide-y divide-slate-200 text-sm dark:divide-slate-800" },
    bills.map((bill) =>
      h(
        "li",
        { class: "flex items-center justify-between gap-3 py-2" },
        h(
          "div",
          { class: "min-w-0" },
          h("p", { class: "truncate font-medium" }, bill.description),
          h("p", { class: "muted text-xs" }, h("time", { datetime: bill.date }, shortDate(bill.date)), bill.category_name ? ` · ${bill.category_name}` : ""),
        ),
        h("span", { class: "tabular-nums" }, money(bill.amount, bill.currency)),
      ),
    ),
  );
}

function goals(rows, currency) {
  if (!rows.length) {
    return emptyState({ title: "No goals yet", body: "Save toward something: a trip, a cushion, a new laptop. Goals show their progress here." });
  }
  return h(
    "ul",
    { class: "space-y-4" },
    rows.map((goal) =>
      h(
        "li",
        {},
        h(
          "div",
          { class: "mb-1 flex flex-wrap items-center justify-between gap-2 text-sm" },
          h("span", { class: "font-medium" }, goal.name),
          goal.status === "achieved"
            ? h("span", { class: "badge badge-ok" }, "Achieved")
            : goal.on_track === false
              ? h("span", { class: "badge badge-warn" }, "Behind")
              : goal.on_track
                ? h("span", { class: "badge badge-ok" }, "On track")
                : null,
        ),
        bar(goal.percent, goal.status === "achieved" || goal.on_track !== false ? "ok" : "warn"),
        h(
          "p",
          { class: "muted mt-1 text-xs tabular-nums" },
          `${money(goal.saved_amount, currency)} of ${money(goal.target_amount, currency)} (${percent(goal.percent)})`,
          goal.target_date ? ` · by ${date(goal.target_date)}` : "",
        ),
      ),
    ),
  );
}

function insights(ctx) {
  return deferred(async () => {
    const [summary, anomalies] = await Promise.all([
      api(bookPath("/ai/insights/"), { signal: ctx.signal }),
      api(bookPath("/ai/anomalies/"), { signal: ctx.signal }),
    ]);
    return h(
      "div",
      { class: "space-y-3 text-sm" },
      h("p", {}, summary.summary),
      summary.tips.length ? h("ul", { class: "list-disc space-y-1 pl-5" }, summary.tips.map((tip) => h("li", {}, tip))) : null,
      anomalies.results.length
        ? h(
            "div",
            {},
            h("h3", { class: "mb-1 font-semibold" }, `Unusual this month (${anomalies.count})`),
            h(
              "ul",
              { class: "space-y-1" },
              anomalies.results.slice(0, 4).map((a) =>
                h("li", {}, h("span", { class: "badge badge-warn mr-2" }, a.kind === "expense" ? "Expense" : "Category"), a.reason),
              ),
            ),
          )
        : h("p", { class: "muted" }, "Nothing unusual in this month's spending."),
    );
  });
}

function notifications(ctx) {
  const none = () => emptyState({ title: "You are all caught up", body: "Budget alerts, bills due and unusual spending show up here." });
  return deferred(async () => {
    const page = await unreadNotifications(5);
    if (!page.results.length) return none();
    const holder = h("div", {});
    replace(
      holder,
      notificationList(page.results, { onEmpty: () => replace(holder, none()) }),
      page.count > page.results.length
        ? h("button", { type: "button", class: "link mt-2 text-sm", onClick: () => openNotifications() }, `See all ${page.count}`)
        : null,
    );
    return holder;
  });
}

function recent(rows) {
  if (!rows.length) {
    return emptyState({ title: "No transactions yet", body: "Your five latest expenses and income appear here." });
  }
  return h(
    "ul",
    { class: "divide-y divide-slate-200 text-sm dark:divide-slate-800" },
    rows.map((row) =>
      h(
        "li",
        { class: "flex items-center justify-between gap-3 py-2" },
        h(
          "div",
          { class: "min-w-0" },
          h("p", { class: "truncate font-medium" }, row.description),
          h(
            "p",
            { class: "muted text-xs" },
            h("time", { datetime: row.date }, shortDate(row.date)),
            ` · ${KINDS[row.type]?.label || row.type}`,
            row.category_name ? ` · ${row.category_name}` : "",
          ),
        ),
        h(
          "span",
          { class: row.type === "income" ? "amount-in tabular-nums" : "tabular-nums" },
          row.type === "income" ? `+${money(row.amount, row.currency)}` : money(row.amount, row.currency),
        ),
      ),
    ),
  );
}

// Budgets (SPEC §8): one budget month at a time (`#/budgets?month=2026-03`), every budget
// with what was spent against it, what is left, rollover and its level, all from
// GET /budgets/status/ (the API does the sums); set, edit, delete and copy a month's
// budgets. A budget write can raise an alert, so the bell is told to look again.

import { ApiError, api, bookPath } from "../api.js";
import { h, ICONS, icon, replace, uid } from "../dom.js";
import { date, money, month as monthName, percent } from "../format.js";
import { editRecord } from "../records.js";
import { go, href, route } from "../router.js";
import { categoryOptions, emit, on } from "../store.js";
import { addMonths, bookCurrency, facts, progressBar, statusBadge } from "../ui/budgeting.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit, showErrors } from "../ui/forms.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";
import { toast } from "../ui/toast.js";

const MONTH_PATTERN = /^\d{4}-\d{2}$/;

route({
  path: "/budgets",
  title: "Budgets",
  nav: { label: "Budgets", order: 30 },
  render: async (ctx) => {
    const requested = ctx.params.get("month") || "";
    const currency = await bookCurrency();
    let status;
    try {
      status = await loadStatus(requested, ctx.signal);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 400) throw error;
      // A month that is not YYYY-MM: say so next to the month picker, offer this month.
      const picker = monthPicker(requested);
      showErrors(picker, new ApiError(error.message, { status: 400, fields: { month: error.fields.month || [error.message] } }));
      return h(
        "div",
        {},
        pageHeader("Budgets"),
        picker,
        h("p", { class: "mt-4" }, h("a", { class: "link", href: href("/budgets") }, "Show this month's budgets")),
      );
    }
    const current = status.month;
    const grid = h("div", {});
    const summary = h("p", { class: "muted text-sm", dataset: { unbudgeted: "" } });

    async function refresh(focusBudget) {
      try {
        status = await loadStatus(current, ctx.signal);
      } catch (error) {
        if (error.name === "AbortError") return;
        replace(grid, errorState(error, { retry: () => refresh() }));
        return;
      }
      draw();
      // The card that was edited was redrawn: give focus back to it, not to the page.
      const target = focusBudget && grid.querySelector(`[data-budget="${focusBudget}"] h2`);
      if (target) {
        target.tabIndex = -1;
        target.focus();
      }
    }

    function draw() {
      const lines = [status.overall, ...status.items].filter(Boolean);
      summary.textContent = `Spending in categories without a budget: ${money(status.unbudgeted_spent, status.currency)}.`;
      if (!lines.length) {
        replace(
          grid,
          emptyState({
            title: `No budgets for ${monthName(current)}`,
            body: "Set a budget for the whole month or for one category to see what is left and be alerted before you overspend. Or copy another month's budgets here.",
            action: h(
              "div",
              { class: "flex flex-wrap justify-center gap-2" },
              h("button", { type: "button", class: "btn btn-primary", onClick: () => openBudget() }, "Set a budget"),
              h("button", { type: "button", class: "btn btn-secondary", onClick: () => openCopy({ to: current }) }, `Copy from ${monthName(addMonths(current, -1))}`),
            ),
          }),
        );
        return;
      }
      const counts = { ok: 0, warn: 0, exceeded: 0 };
      lines.forEach((line) => (counts[line.status] += 1));
      replace(
        grid,
        h("p", { class: "mb-4 text-sm", dataset: { counts: "" } }, `${counts.ok} on track · ${counts.warn} nearly used · ${counts.exceeded} over budget`),
        h("ul", { class: "grid gap-4 sm:grid-cols-2 lg:grid-cols-3", "aria-label": `Budgets of ${monthName(current)}` }, lines.map((line) => budgetCard(line))),
      );
    }

    function budgetCard(line) {
      const name = line.scope === "overall" ? "Overall" : line.category_name;
      const over = Number(line.remaining) < 0;
      const rollover = Number(line.rollover_in) > 0;
      return h(
        "li",
        { class: "card flex flex-col", dataset: { budget: String(line.budget), status: line.status } },
        h(
          "div",
          { class: "mb-2 flex flex-wrap items-center justify-between gap-2" },
          h("h2", { class: "font-semibold" }, name),
          statusBadge(line.status),
        ),
        progressBar(line.percent_used, line.status),
        h(
          "p",
          { class: "mt-2 text-sm tabular-nums" },
          `${money(line.spent, status.currency)} spent of ${money(line.available, status.currency)} (${percent(line.percent_used)})`,
        ),
        h(
          "p",
          { class: over ? "text-sm font-medium text-red-700 tabular-nums dark:text-red-300" : "text-sm font-medium tabular-nums" },
          over ? `${money(line.remaining.replace(/^-/, ""), status.currency)} over budget` : `${money(line.remaining, status.currency)} left`,
        ),
        facts([
          ["Budget", money(line.amount, status.currency)],
          ["Rolled over", rollover ? `+${money(line.rollover_in, status.currency)}` : "Nothing"],
        ]),
        h(
          "div",
          { class: "mt-auto flex gap-2 pt-4" },
          h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Edit the ${name} budget`, onClick: () => openBudget(line.budget) }, "Edit"),
          h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Delete the ${name} budget`, onClick: () => removeBudget(line, name) }, "Delete"),
        ),
      );
    }

    async function openBudget(id = null) {
      const saved = await budgetDialog({ id, month: current, currency });
      if (!saved) return;
      emit("notifications:changed"); // a budget write may have raised an alert
      if (saved.month !== current) return go("/budgets", { month: saved.month });
      await refresh(saved.id);
    }

    async function removeBudget(line, name) {
      const ok = await confirmDialog({
        title: `Delete the ${name} budget?`,
        message: `The ${name} budget of ${monthName(current)} is deleted; its spending then counts as unbudgeted. This cannot be undone.`,
        confirmLabel: "Delete",
        danger: true,
      });
      if (!ok) return;
      try {
        await api(bookPath(`/budgets/${line.budget}/`), { method: "DELETE" });
      } catch (error) {
        toast(error.message, { error: true });
        return;
      }
      toast(`${name} budget deleted`);
      await refresh();
    }

    async function openCopy({ from = current, to = addMonths(current, 1) } = {}) {
      const result = await copyDialog({ from, to });
      if (!result) return;
      emit("notifications:changed");
      if (result.to_month === current) await refresh();
      else go("/budgets", { month: result.to_month });
    }

    ctx.onLeave(on("records:changed", () => refresh()));
    draw();

    const actions = [
      h("button", { type: "button", class: "btn btn-primary", onClick: () => openBudget() }, icon(ICONS.plus, "size-4"), "Set a budget"),
      h("button", { type: "button", class: "btn btn-secondary", onClick: () => openCopy() }, "Copy budgets"),
      h("button", { type: "button", class: "btn btn-secondary", onClick: () => editRecord({ kind: "expense" }) }, "Add expense"),
    ];
    return h(
      "div",
      { class: "space-y-6" },
      pageHeader("Budgets", {
        subtitle: `${monthName(current)} · ${date(status.start)} – ${date(status.end)} · amounts in ${status.currency}`,
        actions,
      }),
      monthPicker(current),
      grid,
      summary,
    );
  },
});

function loadStatus(month, signal) {
  return api(bookPath("/budgets/status/"), { query: { month }, signal });
}

/** Previous / next month links and a month field to jump anywhere. */
function monthPicker(current) {
  const valid = MONTH_PATTERN.test(current);
  const form = h(
    "form",
    { class: "card flex flex-wrap items-end gap-3", "aria-label": "Choose the month to show" },
    formAlert("w-full"),
    valid
      ? h("a", { class: "btn btn-secondary", href: href("/budgets", { month: addMonths(current, -1) }), "aria-label": `Previous month, ${monthName(addMonths(current, -1))}` }, "‹ Previous")
      : null,
    field({ name: "month", label: "Budget month", type: "month", value: valid ? current : "", class: "min-w-40" }),
    h("button", { type: "submit", class: "btn btn-primary" }, "Show"),
    valid
      ? h("a", { class: "btn btn-secondary", href: href("/budgets", { month: addMonths(current, 1) }), "aria-label": `Next month, ${monthName(addMonths(current, 1))}` }, "Next ›")
      : null,
  );
  form.noValidate = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = form.elements.month.value.trim();
    if (!MONTH_PATTERN.test(value)) {
      showErrors(form, new ApiError("Choose a month.", { status: 400, fields: { month: ["Choose a month (YYYY-MM)."] } }));
      return;
    }
    go("/budgets", { month: value });
  });
  return form;
}

/** "80" (per cent) → "0.800" (the API's fraction); a field error for anything else. */
function thresholdFraction(text) {
  if (text === "") return undefined;
  if (!/^\d{1,3}(\.\d)?$/.test(text) || Number(text) <= 0 || Number(text) > 100) {
    throw new ApiError("Check the warning level.", {
      status: 400,
      fields: { warn_threshold: ["Enter a percentage above 0 and at most 100 (one decimal at most)."] },
    });
  }
  return (Math.round(Number(text) * 10) / 1000).toFixed(3);
}

/**
 * The set/edit dialog. A new budget is POSTed (the API updates the one with the same
 * month, scope and category if it exists); an existing one is PATCHed (amount, rollover,
 * warning level: its month, scope and category are its identity). Resolves with the saved
 * budget, or null.
 */
function budgetDialog({ id, month, currency }) {
  return new Promise((resolve) => {
    let saved = null;
    const formId = uid("budget-form");
    const body = h("div", {}, loading("Loading the form…"));
    const dialog = openDialog({
      title: id ? "Edit budget" : "Set a budget",
      description: `Amounts are in ${currency}, your book's currency.`,
      body,
      footer: [
        h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Save budget"),
      ],
      onClose: () => resolve(saved),
    });
    Promise.all([categoryOptions("expense"), id ? api(bookPath(`/budgets/${id}/`)) : null])
      .then(([categories, budget]) => {
        const form = budgetForm({ formId, budget, month, categories });
        onSubmit(
          form,
          async (values) => {
            const data = { amount: values.amount, rollover: values.rollover };
            const threshold = thresholdFraction(values.warn_threshold);
            if (threshold !== undefined) data.warn_threshold = threshold;
            if (budget) return api(bookPath(`/budgets/${budget.id}/`), { method: "PATCH", body: data });
            Object.assign(data, { month: values.month, scope: values.scope });
            if (values.scope === "category") data.category = values.category ? Number(values.category) : null;
            if (data.amount === "") delete data.amount; // the API then says it is required
            return api(bookPath("/budgets/"), { method: "POST", body: data });
          },
          (result) => {
            saved = result;
            toast(`${result.category_name || "Overall"} budget saved for ${monthName(result.month)}`);
            dialog.close();
          },
        );
        replace(body, form);
        form.querySelector(budget ? "[name=amount]" : "[name=month]")?.focus();
      })
      .catch((error) => replace(body, errorState(error, { compact: true })));
  });
}

function budgetForm({ formId, budget, month, categories }) {
  const editing = Boolean(budget);
  const scope = field({
    name: "scope",
    label: "Budget for",
    type: "select",
    value: budget?.scope || "category",
    disabled: editing,
    options: [
      { value: "category", label: "One category" },
      { value: "overall", label: "All spending (overall)" },
    ],
  });
  const category = field({
    name: "category",
    label: "Category",
    type: "select",
    empty: "Choose a category",
    options: categories,
    value: budget?.category ?? "",
    disabled: editing,
    hint: "Spending in its subcategories counts too.",
  });
  const scopeSelect = scope.querySelector("select");
  const categorySelect = category.querySelector("select");
  const sync = () => {
    const overall = scopeSelect.value === "overall";
    category.hidden = overall;
    categorySelect.disabled = editing || overall;
  };
  scopeSelect.addEventListener("change", sync);
  sync();
  if (editing && budget.scope === "overall") category.hidden = true;

  const threshold = budget ? String(Math.round(Number(budget.warn_threshold) * 1000) / 10) : "80";
  return h(
    "form",
    { id: formId, class: "grid gap-4 sm:grid-cols-2" },
    formAlert("sm:col-span-2"),
    field({ name: "month", label: "Month", type: "month", value: budget?.month || month, required: true, disabled: editing }),
    scope,
    h("div", { class: "sm:col-span-2" }, category),
    field({ name: "amount", label: "Amount", required: true, inputmode: "decimal", autocomplete: "off", value: budget?.amount || "" }),
    field({
      name: "warn_threshold",
      label: "Warn at (% used)",
      inputmode: "decimal",
      autocomplete: "off",
      value: threshold,
      hint: "You are alerted when spending reaches this share of the budget.",
    }),
    field({
      name: "rollover",
      label: "Roll unused money over to the next month",
      type: "checkbox",
      value: budget?.rollover ?? false,
      hint: "What is left at the end of the month is added to next month's budget.",
      class: "sm:col-span-2",
    }),
  );
}

/** Copies a month's budgets (POST /budgets/copy/); resolves with {to_month, counts}. */
function copyDialog({ from, to }) {
  return new Promise((resolve) => {
    let result = null;
    const formId = uid("copy-form");
    const form = h(
      "form",
      { id: formId, class: "grid gap-4 sm:grid-cols-2" },
      formAlert("sm:col-span-2"),
      field({ name: "from_month", label: "Copy the budgets of", type: "month", value: from, required: true }),
      field({ name: "to_month", label: "To the month", type: "month", value: to, required: true }),
      field({
        name: "overwrite",
        label: "Replace budgets that already exist in that month",
        type: "checkbox",
        hint: "Otherwise they are kept as they are.",
        class: "sm:col-span-2",
      }),
    );
    const dialog = openDialog({
      title: "Copy budgets",
      description: "Every budget of one month, with its amount, rollover and warning level, is copied to another.",
      body: form,
      footer: [
        h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Copy budgets"),
      ],
      onClose: () => resolve(result),
    });
    onSubmit(
      form,
      (values) => api(bookPath("/budgets/copy/"), { method: "POST", body: { from_month: values.from_month, to_month: values.to_month, overwrite: values.overwrite } }),
      (counts) => {
        const values = new FormData(form);
        result = { to_month: String(values.get("to_month")), counts };
        toast(`Copied to ${monthName(result.to_month)}: ${counts.created} created, ${counts.updated} updated, ${counts.skipped} kept as they were.`);
        dialog.close();
      },
    );
  });
}

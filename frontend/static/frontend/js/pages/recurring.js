// Recurring bills and income (SPEC §12): what falls due in the coming days
// (GET /recurring/upcoming/), every recurring item with its schedule and next date,
// create, edit, pause and resume, delete. Both lists page; nothing loads everything.

import { api, bookPath } from "../api.js";
import { me } from "../auth.js";
import { append, h, ICONS, icon, replace, srOnly, uid } from "../dom.js";
import { date, isoDate, money, shortDate } from "../format.js";
import { PAYMENT_METHODS } from "../records.js";
import { go, href, route } from "../router.js";
import { categoryOptions, currencies, emit } from "../store.js";
import { pager } from "../ui/budgeting.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

const UNITS = { daily: ["day", "days"], weekly: ["week", "weeks"], monthly: ["month", "months"], yearly: ["year", "years"] };
const KIND_LABEL = { expense: "Bill", income: "Income" };
const HORIZONS = ["7", "30", "90"];

/** "Every month", "Every 2 weeks". */
export function schedule(item) {
  const [one, many] = UNITS[item.frequency] || [item.frequency, item.frequency];
  return item.interval > 1 ? `Every ${item.interval} ${many}` : `Every ${one}`;
}

function signed(row) {
  return row.kind === "income" ? `+${money(row.amount, row.currency)}` : money(row.amount, row.currency);
}

function dueRow(row) {
  return h(
    "li",
    { class: "flex items-center justify-between gap-3 py-2 text-sm" },
    h(
      "div",
      { class: "min-w-0" },
      h("p", { class: "truncate font-medium" }, row.description),
      h("p", { class: "muted text-xs" }, h("time", { datetime: row.date }, date(row.date)), ` · ${KIND_LABEL[row.kind] || row.kind}`, row.category_name ? ` · ${row.category_name}` : ""),
    ),
    h("span", { class: row.kind === "income" ? "amount-in tabular-nums" : "tabular-nums" }, signed(row)),
  );
}

route({
  path: "/recurring",
  title: "Recurring bills and income",
  nav: { label: "Bills", order: 45 },
  render: async (ctx) => {
    const days = HORIZONS.includes(ctx.params.get("days")) ? ctx.params.get("days") : "30";

    // What falls due soon (reloaded after a pause or resume changes it).
    const upcomingSlot = h("div", {}, loading("Loading what is due…"));
    async function loadUpcoming() {
      const list = h("ul", { class: "divide-y divide-slate-200 dark:divide-slate-800", "aria-label": `Due in the next ${days} days` });
      const upcoming = pager({
        path: bookPath("/recurring/upcoming/"),
        query: { days },
        pageSize: 10,
        signal: ctx.signal,
        noun: "due dates",
        add: (rows) => list.append(...rows.map(dueRow)),
      });
      try {
        await upcoming.load();
      } catch (error) {
        if (error.name === "AbortError") return;
        replace(upcomingSlot, errorState(error, { retry: loadUpcoming, compact: true }));
        return;
      }
      replace(
        upcomingSlot,
        upcoming.shown
          ? [list, upcoming.footer]
          : emptyState({ title: `Nothing due in the next ${days} days`, body: "Active recurring bills and income show up here before they fall due." }),
      );
    }
    const horizon = field({
      name: "days",
      label: "Show what is due in the next",
      type: "select",
      value: days,
      options: HORIZONS.map((d) => ({ value: d, label: `${d} days` })),
      class: "max-w-56",
    });
    horizon.querySelector("select").addEventListener("change", (event) => go("/recurring", { days: event.target.value === "30" ? "" : event.target.value }));

    // Every item.
    const table = dataTable({
      caption: "Recurring bills and income, newest first",
      rowClass: (item) => (item.active ? null : "opacity-80"),
      columns: [
        {
          label: "Description",
          cell: (item) =>
            h(
              "div",
              { class: "min-w-0" },
              h("p", { class: "font-medium" }, item.description),
              h("p", { class: "muted text-xs" }, [KIND_LABEL[item.kind], item.category_name, item.merchant].filter(Boolean).join(" · ")),
              h("p", { class: "muted text-xs sm:hidden" }, schedule(item), item.active ? "" : " · Paused"),
            ),
        },
        { label: "Schedule", class: "hidden sm:table-cell", cell: (item) => h("div", {}, schedule(item), h("p", { class: "muted text-xs" }, `from ${shortDate(item.start_date)}${item.end_date ? ` to ${shortDate(item.end_date)}` : ""}`)) },
        { label: "Next", class: "hidden md:table-cell", cell: (item) => (item.next_date ? h("time", { datetime: item.next_date, class: "whitespace-nowrap" }, date(item.next_date)) : h("span", { class: "muted" }, "—")) },
        { label: "Amount", numeric: true, cell: (item) => h("span", { class: item.kind === "income" ? "amount-in whitespace-nowrap" : "whitespace-nowrap" }, signed(item)) },
        {
          label: "Status",
          class: "hidden sm:table-cell",
          cell: (item) =>
            item.active
              ? h("span", { class: "badge badge-ok" }, "Active")
              : h("span", { class: "badge bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100" }, "Paused"),
        },
        {
          label: srOnly("Actions"),
          class: "w-px",
          cell: (item) =>
            h(
              "div",
              { class: "flex flex-col items-end gap-1 sm:flex-row sm:justify-end" },
              h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Edit ${item.description}`, onClick: () => edit(item) }, "Edit"),
              h(
                "button",
                { type: "button", class: "btn btn-ghost btn-small", "aria-label": `${item.active ? "Pause" : "Resume"} ${item.description}`, onClick: () => toggle(item) },
                item.active ? "Pause" : "Resume",
              ),
            ),
        },
      ],
    });
    const rows = new Map();
    const items = pager({
      path: bookPath("/recurring/"),
      pageSize: 20,
      signal: ctx.signal,
      noun: "items",
      add: (list) => table.add(list).forEach((tr, i) => rows.set(list[i].id, tr)),
    });

    function redraw(item, focusLabel) {
      const fresh = table.row(item);
      rows.get(item.id)?.replaceWith(fresh);
      rows.set(item.id, fresh);
      if (focusLabel) fresh.querySelector(`[aria-label^="${focusLabel}"]`)?.focus();
    }

    async function edit(item) {
      const result = await recurringDialog({ item });
      if (!result) return;
      // The schedule or amount may have changed what is due: redraw the whole page.
      ctx.reload();
    }

    async function toggle(item) {
      let saved;
      try {
        saved = await api(bookPath(`/recurring/${item.id}/`), { method: "PATCH", body: { active: !item.active } });
      } catch (error) {
        toast(error.message, { error: true });
        return;
      }
      toast(saved.active ? `${saved.description} resumed` : `${saved.description} paused: nothing is recorded or reminded until you resume it`);
      redraw(saved, saved.active ? "Pause" : "Resume");
      await loadUpcoming();
    }

    async function create() {
      const result = await recurringDialog({});
      if (result) ctx.reload();
    }

    await Promise.all([loadUpcoming(), items.load()]);
    const itemsSlot = items.shown
      ? [table.el, items.footer]
      : emptyState({
          title: "No recurring bills or income yet",
          body: "Add rent, subscriptions or your salary once: they are listed here with their next date, can be recorded for you and remind you before a bill is due.",
          action: h("button", { type: "button", class: "btn btn-primary", onClick: create }, "Add a recurring item"),
        });

    const section = (title, ...content) => {
      const id = uid("section");
      return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id, class: "mb-3 text-base font-semibold" }, title), ...content);
    };
    return h(
      "div",
      { class: "space-y-6" },
      pageHeader("Recurring bills and income", {
        subtitle: "Rent, subscriptions, salary: anything that repeats.",
        actions: [h("button", { type: "button", class: "btn btn-primary", onClick: create }, icon(ICONS.plus, "size-4"), "New recurring item")],
      }),
      section("Coming up", horizon, h("div", { class: "mt-3" }, upcomingSlot)),
      section("All recurring items", itemsSlot),
      h("p", { class: "muted text-sm" }, "Recorded transactions are in ", h("a", { class: "link", href: href("/transactions") }, "Transactions"), "."),
    );
  },
});

/**
 * Create or edit a recurring item (an existing one can be deleted). Resolves with the
 * saved item ({deleted: true} after a delete), or null.
 */
function recurringDialog({ item = null }) {
  return new Promise((resolve) => {
    let result = null;
    const formId = uid("recurring-form");
    const body = h("div", {}, loading("Loading the form…"));
    const remove = item
      ? h(
          "button",
          {
            type: "button",
            class: "btn btn-danger sm:mr-auto",
            onClick: async () => {
              const ok = await confirmDialog({
                title: "Delete this recurring item?",
                message: `“${item.description}” stops repeating. The expenses and income it already recorded stay.`,
                confirmLabel: "Delete",
                danger: true,
              });
              if (!ok) return;
              try {
                await api(bookPath(`/recurring/${item.id}/`), { method: "DELETE" });
              } catch (error) {
                toast(error.message, { error: true });
                return;
              }
              toast(`${item.description} deleted`);
              result = { ...item, deleted: true };
              dialog.close();
            },
          },
          "Delete",
        )
      : null;
    const dialog = openDialog({
      title: item ? "Edit recurring item" : "New recurring item",
      body,
      footer: [
        remove,
        h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Save"),
      ],
      onClose: () => resolve(result),
    });
    buildForm({ item, formId })
      .then((form) => {
        onSubmit(form, (values) => save(form, values, item), (saved) => {
          result = saved;
          emit("notifications:changed");
          toast(`${saved.description} saved`);
          dialog.close();
        });
        replace(body, form);
        form.querySelector("[name=description]")?.focus();
      })
      .catch((error) => replace(body, errorState(error, { compact: true })));
  });
}

async function buildForm({ item, formId }) {
  const [user, currencyRows] = await Promise.all([me(), currencies()]);
  const form = h("form", { id: formId, class: "grid gap-4 sm:grid-cols-2", dataset: { kind: item?.kind || "expense" } });
  const kindFields = h("div", { class: "contents" });

  async function drawKindFields(kind) {
    form.dataset.kind = kind;
    const options = await categoryOptions(kind);
    const expense = kind === "expense";
    replace(
      kindFields,
      field({ name: "category", label: "Category", type: "select", options, empty: "No category", value: item?.kind === kind ? (item?.category ?? "") : "" }),
      field({ name: "merchant", label: expense ? "Merchant" : "From (payer)", value: item?.merchant || "", autocomplete: "off" }),
      expense ? field({ name: "payment_method", label: "Payment method", type: "select", options: PAYMENT_METHODS, value: item?.payment_method || "other" }) : null,
      expense
        ? field({
            name: "remind_days_before",
            label: "Remind me (days before)",
            type: "number",
            min: "0",
            inputmode: "numeric",
            value: item?.remind_days_before ?? "",
            hint: "Leave empty for no reminder; 0 reminds on the day.",
          })
        : null,
    );
  }

  const kindChoice = item
    ? null
    : h(
        "fieldset",
        { class: "sm:col-span-2" },
        h("legend", { class: "label" }, "Type"),
        h(
          "div",
          { class: "flex gap-4" },
          [
            ["expense", "Bill (expense)"],
            ["income", "Income"],
          ].map(([value, label]) =>
            h("label", { class: "flex items-center gap-2 text-sm" }, h("input", { type: "radio", name: "kind", value, checked: value === "expense", class: "size-4", onChange: () => drawKindFields(value) }), label),
          ),
        ),
      );

  append(form, [
    formAlert("sm:col-span-2"),
    kindChoice,
    field({ name: "description", label: "Description", required: true, maxlength: "255", autocomplete: "off", value: item?.description || "", class: "sm:col-span-2" }),
    field({ name: "amount", label: "Amount", required: true, inputmode: "decimal", autocomplete: "off", value: item?.amount || "" }),
    field({ name: "currency", label: "Currency", type: "select", options: currencyRows.map((c) => ({ value: c.code, label: `${c.code} · ${c.name}` })), value: item?.currency || user.base_currency }),
    field({
      name: "frequency",
      label: "Repeats",
      type: "select",
      value: item?.frequency || "monthly",
      options: [
        { value: "daily", label: "Daily" },
        { value: "weekly", label: "Weekly" },
        { value: "monthly", label: "Monthly" },
        { value: "yearly", label: "Yearly" },
      ],
    }),
    field({ name: "interval", label: "Every how many", type: "number", min: "1", inputmode: "numeric", value: item?.interval ?? 1, hint: "2 with “Weekly” is every other week." }),
    field({ name: "start_date", label: "First date", type: "date", required: true, value: item?.start_date || isoDate(), hint: "Days 29–31 fall on the last day of shorter months." }),
    field({ name: "end_date", label: "Last date", type: "date", value: item?.end_date || "", hint: "Optional." }),
    kindFields,
    field({ name: "auto_create", label: "Record it for me on each date", type: "checkbox", value: item?.auto_create ?? false, class: "sm:col-span-2" }),
    item ? field({ name: "active", label: "Active (uncheck to pause)", type: "checkbox", value: item.active, class: "sm:col-span-2" }) : null,
  ]);
  await drawKindFields(item?.kind || "expense");
  return form;
}

function save(form, values, item) {
  const kind = item?.kind || values.kind || form.dataset.kind;
  const data = {
    description: values.description,
    amount: values.amount,
    currency: values.currency,
    frequency: values.frequency,
    interval: values.interval === "" ? 1 : values.interval,
    start_date: values.start_date,
    end_date: values.end_date || null,
    category: values.category ? Number(values.category) : null,
    merchant: values.merchant,
    auto_create: values.auto_create,
  };
  if (kind === "expense") {
    data.payment_method = values.payment_method;
    data.remind_days_before = values.remind_days_before === "" ? null : values.remind_days_before;
  }
  if (item) data.active = values.active;
  else data.kind = kind;
  // A new item's empty required values are left out, so the API says they are required.
  if (!item) for (const key of ["amount", "start_date"]) if (data[key] === "") delete data[key];
  return api(bookPath(item ? `/recurring/${item.id}/` : "/recurring/"), { method: item ? "PATCH" : "POST", body: data });
}

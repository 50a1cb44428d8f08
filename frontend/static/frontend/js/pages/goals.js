// Savings goals (SPEC §9): progress and the API's projections (what to save each month,
// when the target is reached at the recent pace, on track or behind), create, edit,
// archive; deposits and withdrawals with their history. A goal's figures always come
// from the API after a write, never computed here.

import { api, bookPath } from "../api.js";
import { h, ICONS, icon, replace, srOnly, uid } from "../dom.js";
import { date, isoDate, money, percent } from "../format.js";
import { href, route } from "../router.js";
import { emit } from "../store.js";
import { bookCurrency, facts, pager, progressBar } from "../ui/budgeting.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

const VIEWS = {
  current: { label: "Current", statuses: ["active", "achieved"] },
  archived: { label: "Archived", statuses: ["archived"] },
  all: { label: "All", statuses: [] },
};

route({
  path: "/goals",
  title: "Goals",
  nav: { label: "Goals", order: 40 },
  render: async (ctx) => {
    const view = VIEWS[ctx.params.get("view")] ? ctx.params.get("view") : "current";
    const currency = await bookCurrency();
    const list = h("ul", { class: "grid gap-4 lg:grid-cols-2", "aria-label": "Savings goals" });
    const cards = new Map();
    const goals = pager({
      path: bookPath("/goals/"),
      query: { status: VIEWS[view].statuses },
      pageSize: 12,
      signal: ctx.signal,
      noun: "goals",
      add: (rows) => rows.forEach((goal) => list.append(card(goal))),
    });

    function card(goal) {
      const node = goalCard(goal, currency, {
        contribute: () => contribute(goal),
        history: () => history(goal),
        edit: () => edit(goal),
        archive: () => setArchived(goal, goal.status !== "archived"),
      });
      cards.set(goal.id, node);
      return node;
    }

    /** Redraws a goal's card from the API (or drops it when it left this view). */
    async function redraw(id, { focus } = {}) {
      const old = cards.get(id);
      let fresh;
      try {
        fresh = await api(bookPath(`/goals/${id}/`), { signal: ctx.signal });
      } catch (error) {
        if (error.status === 404) return drop(id);
        throw error;
      }
      const statuses = VIEWS[view].statuses;
      if (statuses.length && !statuses.includes(fresh.status)) return drop(id);
      const node = card(fresh);
      old?.replaceWith(node);
      if (focus) node.querySelector(focus)?.focus();
      return fresh;
    }

    function drop(id) {
      cards.get(id)?.remove();
      cards.delete(id);
      goals.removed();
      if (!list.children.length) replace(results, empty());
      return null;
    }

    async function contribute(goal) {
      const saved = await contributionDialog(goal, currency);
      if (!saved) return;
      emit("notifications:changed"); // reaching the target notifies (goal_achieved)
      const fresh = await redraw(goal.id, { focus: "[data-action=contribute]" });
      if (fresh && fresh.status === "achieved" && goal.status !== "achieved") toast(`Goal reached: ${fresh.name}. Well done!`);
    }

    async function history(goal) {
      const changed = await historyDialog(goal, currency);
      if (changed) {
        emit("notifications:changed");
        await redraw(goal.id, { focus: "[data-action=history]" });
      }
    }

    async function edit(goal) {
      const result = await goalDialog({ goal, currency });
      if (!result) return;
      if (result.deleted) drop(goal.id);
      else await redraw(goal.id, { focus: "[data-action=edit]" });
    }

    async function setArchived(goal, archived) {
      try {
        await api(bookPath(`/goals/${goal.id}/`), { method: "PATCH", body: { status: archived ? "archived" : "active" } });
      } catch (error) {
        toast(error.message, { error: true });
        return;
      }
      toast(archived ? `${goal.name} archived` : `${goal.name} is back among your current goals`);
      await redraw(goal.id, { focus: "[data-action=archive]" });
    }

    async function create() {
      const result = await goalDialog({ currency });
      if (result) ctx.reload();
    }

    const empty = () =>
      view === "archived"
        ? emptyState({ title: "No archived goals", body: "Goals you archive are kept here, with their history." })
        : emptyState({
            title: "No goals yet",
            body: "Save toward something: a trip, a cushion for emergencies, a new laptop. Add money as you save and see when you will get there.",
            action: h("button", { type: "button", class: "btn btn-primary", onClick: create }, "Create a goal"),
          });
    const results = h("div", {});
    await goals.load();
    replace(results, goals.shown ? list : empty());

    return h(
      "div",
      { class: "space-y-6" },
      pageHeader("Goals", {
        subtitle: `Savings goals, in ${currency}.`,
        actions: [h("button", { type: "button", class: "btn btn-primary", onClick: create }, icon(ICONS.plus, "size-4"), "New goal")],
      }),
      h(
        "nav",
        { "aria-label": "Which goals" },
        h(
          "ul",
          { class: "flex flex-wrap gap-2" },
          Object.entries(VIEWS).map(([key, { label }]) =>
            h("li", {}, h("a", { class: "nav-link", href: href("/goals", key === "current" ? {} : { view: key }), "aria-current": key === view ? "page" : null }, label)),
          ),
        ),
      ),
      results,
      goals.footer,
    );
  },
});

function goalBadge(goal) {
  if (goal.status === "achieved") return h("span", { class: "badge badge-ok" }, "Achieved");
  if (goal.status === "archived") return h("span", { class: "badge bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100" }, "Archived");
  if (goal.on_track === true) return h("span", { class: "badge badge-ok" }, "On track");
  if (goal.on_track === false) return h("span", { class: "badge badge-warn" }, "Behind");
  return null;
}

function goalCard(goal, currency, actions) {
  const achieved = goal.status === "achieved";
  const projection = goal.projected_completion ? date(goal.projected_completion) : "Not enough recent saving to tell";
  return h(
    "li",
    { class: "card flex flex-col", dataset: { goal: String(goal.id), status: goal.status } },
    h("div", { class: "mb-2 flex flex-wrap items-center justify-between gap-2" }, h("h2", { class: "font-semibold" }, goal.name), goalBadge(goal)),
    progressBar(goal.percent, achieved || goal.on_track !== false ? "ok" : "warn"),
    h("p", { class: "mt-2 text-sm tabular-nums" }, `${money(goal.saved_amount, currency)} saved of ${money(goal.target_amount, currency)} (${percent(goal.percent)})`),
    facts([
      ["Still to save", money(goal.remaining, currency)],
      ["Target date", goal.target_date ? date(goal.target_date) : "None set"],
      goal.target_date && !achieved ? ["Needed per month", money(goal.required_monthly, currency)] : null,
      achieved ? null : ["Reached at your recent pace", projection],
    ]),
    goal.notes ? h("p", { class: "muted mt-3 text-sm" }, goal.notes) : null,
    h(
      "div",
      { class: "mt-auto flex flex-wrap gap-2 pt-4" },
      goal.status !== "archived"
        ? h("button", { type: "button", class: "btn btn-primary btn-small", dataset: { action: "contribute" }, "aria-label": `Add or withdraw money: ${goal.name}`, onClick: actions.contribute }, "Add or withdraw")
        : null,
      h("button", { type: "button", class: "btn btn-secondary btn-small", dataset: { action: "history" }, "aria-label": `History of ${goal.name}`, onClick: actions.history }, "History"),
      h("button", { type: "button", class: "btn btn-secondary btn-small", dataset: { action: "edit" }, "aria-label": `Edit ${goal.name}`, onClick: actions.edit }, "Edit"),
      h(
        "button",
        { type: "button", class: "btn btn-ghost btn-small", dataset: { action: "archive" }, "aria-label": `${goal.status === "archived" ? "Restore" : "Archive"} ${goal.name}`, onClick: actions.archive },
        goal.status === "archived" ? "Restore" : "Archive",
      ),
    ),
  );
}

/** Create or edit a goal; an existing one can be deleted. Resolves with the goal, or null. */
function goalDialog({ goal = null, currency }) {
  return new Promise((resolve) => {
    let result = null;
    const formId = uid("goal-form");
    const form = h(
      "form",
      { id: formId, class: "grid gap-4 sm:grid-cols-2" },
      formAlert("sm:col-span-2"),
      field({ name: "name", label: "Name", required: true, maxlength: "100", autocomplete: "off", value: goal?.name || "", class: "sm:col-span-2" }),
      field({ name: "target_amount", label: `Target amount (${currency})`, required: true, inputmode: "decimal", autocomplete: "off", value: goal?.target_amount || "" }),
      field({ name: "target_date", label: "Target date", type: "date", value: goal?.target_date || "", hint: "Optional: with a date you see what to save each month." }),
      field({ name: "notes", label: "Notes", type: "textarea", rows: 2, value: goal?.notes || "", class: "sm:col-span-2" }),
    );
    const remove = goal
      ? h(
          "button",
          {
            type: "button",
            class: "btn btn-danger sm:mr-auto",
            onClick: async () => {
              const ok = await confirmDialog({
                title: "Delete this goal?",
                message: `“${goal.name}” and all its deposits and withdrawals are deleted. This cannot be undone. To keep its history, archive it instead.`,
                confirmLabel: "Delete",
                danger: true,
              });
              if (!ok) return;
              try {
                await api(bookPath(`/goals/${goal.id}/`), { method: "DELETE" });
              } catch (error) {
                toast(error.message, { error: true });
                return;
              }
              toast(`${goal.name} deleted`);
              result = { ...goal, deleted: true };
              dialog.close();
            },
          },
          "Delete",
        )
      : null;
    const dialog = openDialog({
      title: goal ? "Edit goal" : "New goal",
      body: form,
      footer: [
        remove,
        h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Save goal"),
      ],
      onClose: () => resolve(result),
    });
    onSubmit(
      form,
      (values) => {
        const data = { name: values.name, target_amount: values.target_amount, target_date: values.target_date || null, notes: values.notes };
        if (!goal && data.target_amount === "") delete data.target_amount;
        return goal
          ? api(bookPath(`/goals/${goal.id}/`), { method: "PATCH", body: data })
          : api(bookPath("/goals/"), { method: "POST", body: data });
      },
      (saved) => {
        result = saved;
        toast(`${saved.name} saved`);
        dialog.close();
      },
    );
  });
}

/** A deposit or a withdrawal; resolves with the contribution, or null. */
function contributionDialog(goal, currency) {
  return new Promise((resolve) => {
    let result = null;
    const formId = uid("contribution-form");
    const kind = h(
      "fieldset",
      { class: "sm:col-span-2" },
      h("legend", { class: "label" }, "Money"),
      h(
        "div",
        { class: "flex gap-4" },
        [
          ["deposit", "Add (deposit)"],
          ["withdrawal", "Take out (withdrawal)"],
        ].map(([value, label]) =>
          h("label", { class: "flex items-center gap-2 text-sm" }, h("input", { type: "radio", name: "direction", value, checked: value === "deposit", class: "size-4" }), label),
        ),
      ),
    );
    const form = h(
      "form",
      { id: formId, class: "grid gap-4 sm:grid-cols-2" },
      formAlert("sm:col-span-2"),
      kind,
      field({ name: "amount", label: `Amount (${currency})`, required: true, inputmode: "decimal", autocomplete: "off" }),
      field({ name: "date", label: "Date", type: "date", value: isoDate() }),
      field({ name: "note", label: "Note", maxlength: "255", autocomplete: "off", class: "sm:col-span-2" }),
    );
    const dialog = openDialog({
      title: `Add or withdraw: ${goal.name}`,
      description: `${money(goal.saved_amount, currency)} saved of ${money(goal.target_amount, currency)}.`,
      body: form,
      footer: [
        h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Save"),
      ],
      onClose: () => resolve(result),
      initialFocus: "[name=amount]",
    });
    onSubmit(
      form,
      (values) => {
        // The amount is typed without a sign; the choice above gives it one.
        const plain = values.amount.replace(/^[+-]/, "");
        const amount = values.direction === "withdrawal" && plain ? `-${plain}` : plain;
        const data = { amount, note: values.note };
        if (values.date) data.date = values.date;
        return api(bookPath(`/goals/${goal.id}/contributions/`), { method: "POST", body: data });
      },
      (saved) => {
        result = saved;
        toast(Number(saved.amount) < 0 ? `${money(saved.amount.slice(1), currency)} taken out of ${goal.name}` : `${money(saved.amount, currency)} added to ${goal.name}`);
        dialog.close();
      },
    );
  });
}

/** A goal's deposits and withdrawals, newest first, a page at a time, each deletable.
 * Resolves true when something was deleted. */
function historyDialog(goal, currency) {
  return new Promise((resolve) => {
    let changed = false;
    const body = h("div", {}, loading("Loading the history…"));
    const alert = h("div", { class: "alert mb-3", role: "alert", hidden: true });
    const dialog = openDialog({
      title: `History: ${goal.name}`,
      body: h("div", {}, alert, body),
      footer: [h("button", { type: "button", class: "btn btn-primary", onClick: () => dialog.close() }, "Close")],
      onClose: () => resolve(changed),
      initialFocus: "button.btn-primary",
    });
    const table = dataTable({
      caption: `Deposits and withdrawals of ${goal.name}, newest first`,
      columns: [
        { label: "Date", cell: (row) => h("time", { datetime: row.date, class: "whitespace-nowrap" }, date(row.date)) },
        {
          label: "Amount",
          numeric: true,
          cell: (row) =>
            Number(row.amount) < 0
              ? h("span", {}, `−${money(row.amount.slice(1), currency)}`, srOnly(" (withdrawal)"))
              : h("span", { class: "amount-in" }, `+${money(row.amount, currency)}`, srOnly(" (deposit)")),
        },
        { label: "Note", class: "hidden sm:table-cell", cell: (row) => row.note || h("span", { class: "muted" }, "—") },
        {
          label: srOnly("Actions"),
          class: "w-px",
          cell: (row) =>
            h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Delete the ${row.date} entry of ${money(row.amount, currency)}`, onClick: (event) => remove(row, event.currentTarget) }, "Delete"),
        },
      ],
    });
    const history = pager({
      path: bookPath(`/goals/${goal.id}/contributions/`),
      pageSize: 20,
      noun: "entries",
      add: (rows) => table.add(rows),
    });

    async function remove(row, button) {
      alert.hidden = true;
      button.disabled = true;
      try {
        await api(bookPath(`/goals/${goal.id}/contributions/${row.id}/`), { method: "DELETE" });
      } catch (error) {
        // e.g. 409: a later withdrawal depends on this deposit.
        alert.textContent = error.message;
        alert.hidden = false;
        button.disabled = false;
        return;
      }
      changed = true;
      button.closest("tr").remove();
      history.removed();
      toast("Entry deleted");
      if (!history.shown) replace(body, none());
      else dialog.el.querySelector("button.btn-primary")?.focus();
    }

    const none = () => emptyState({ title: "Nothing saved yet", body: "Deposits and withdrawals you make appear here." });
    history
      .load()
      .then(() => replace(body, history.shown ? [table.el, history.footer] : none()))
      .catch((error) => replace(body, errorState(error, { compact: true })));
  });
}

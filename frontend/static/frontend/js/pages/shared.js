// Shared expenses of the shown book (SPEC §15): who owes whom (balances), the fewest
// payments that settle everyone (settle-up, each recordable in one click), payments between
// members (settlements: list, record, delete) and adding a split expense (the transaction
// form with payer and split editor, ui/split_editor.js). Figures are the API's, never summed
// here.

import { api, bookPath } from "../api.js";
import { me } from "../auth.js";
import { h, ICONS, icon, replace } from "../dom.js";
import { date, isoDate, money } from "../format.js";
import { editRecord } from "../records.js";
import { href, route } from "../router.js";
import { currencies, emit, on } from "../store.js";
import { books, chooseBook, currentBook, members } from "../ui/book_switcher.js";
import { pagedRows } from "../ui/books_paging.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import "../ui/split_editor.js";
import { emptyState, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

route({
  path: "/shared",
  title: "Shared expenses",
  nav: { label: "Shared", order: 70 },
  render: async (ctx) => {
    const book = await currentBook();
    if (book.kind !== "shared") return notShared();
    const [balances, settleUp, people, user] = await Promise.all([
      api(bookPath("/balances/"), { signal: ctx.signal }),
      api(bookPath("/settle-up/"), { signal: ctx.signal }),
      members(book.id),
      me(),
    ]);
    const canWrite = book.role !== "viewer";
    const names = new Map(people.map((m) => [m.user, m.username]));
    for (const row of balances.members) if (row.user !== null) names.set(row.user, row.username);
    const name = (id) => (id === null ? "A deleted account" : id === user.id ? "You" : names.get(id) || `Member ${id}`);
    const currency = balances.currency;

    ctx.onLeave(on("records:changed", () => ctx.reload()));
    ctx.onLeave(on("settlements:changed", () => ctx.reload()));

    const actions = canWrite
      ? [
          h("button", { type: "button", class: "btn btn-secondary", onClick: () => recordPayment({ book, people, user }) }, "Record a payment"),
          h("button", { type: "button", class: "btn btn-primary", onClick: () => editRecord({ kind: "expense" }) }, icon(ICONS.plus, "size-4"), "Add shared expense"),
        ]
      : [];
    return h(
      "div",
      { class: "grid gap-6" },
      pageHeader("Shared expenses", {
        subtitle: `${book.name} · every figure in ${currency}.${canWrite ? "" : " You can read this book, not change it."}`,
        actions,
      }),
      h("div", { class: "grid gap-6 lg:grid-cols-5" }, balancesCard(balances, name, user), settleUpCard(settleUp, name, canWrite, ctx)),
      settlementsCard(book, name, canWrite, ctx),
    );
  },
});

async function notShared() {
  const shared = (await books()).filter((b) => b.kind === "shared");
  const choices = shared.length
    ? h(
        "ul",
        { class: "mt-4 flex flex-wrap justify-center gap-2" },
        shared.map((b) => h("li", {}, h("button", { type: "button", class: "btn btn-secondary", onClick: () => chooseBook(b.id) }, `Show ${b.name}`))),
      )
    : h("a", { class: "btn btn-primary", href: href("/books") }, "Create a shared book");
  return h(
    "div",
    {},
    pageHeader("Shared expenses"),
    emptyState({
      title: "Your personal book has no shared expenses",
      body: shared.length
        ? "Balances and settling up belong to shared books. Show one of yours:"
        : "Create a shared book for a household, a flat or a trip, invite people, and split expenses between you.",
      action: choices,
    }),
  );
}

function balanceCell(row, currency) {
  const value = Number(row.balance);
  const words = value > 0 ? "is owed" : value < 0 ? "owes" : "settled";
  return h(
    "div",
    { class: "whitespace-nowrap" },
    h("span", { class: value > 0 ? "amount-in font-semibold" : value < 0 ? "font-semibold text-red-700 dark:text-red-300" : "" }, money(row.balance, currency)),
    h("p", { class: "muted text-xs" }, words),
  );
}

function balancesCard(balances, name, user) {
  const { currency } = balances;
  const table = dataTable({
    caption: "Balances: positive means the member is owed, negative that they owe",
    columns: [
      { label: "Member", cell: (r) => h("span", { class: r.user === user.id ? "font-semibold" : "" }, r.user === user.id ? `${r.username} (you)` : r.username || name(r.user)) },
      { label: "Paid", numeric: true, class: "hidden sm:table-cell", cell: (r) => money(r.paid, currency) },
      { label: "Share", numeric: true, class: "hidden sm:table-cell", cell: (r) => money(r.share, currency) },
      { label: "Settled", numeric: true, class: "hidden md:table-cell", cell: (r) => `+${money(r.settled_out, currency)} / −${money(r.settled_in, currency)}` },
      { label: "Balance", numeric: true, cell: (r) => balanceCell(r, currency) },
    ],
    rows: balances.members,
  });
  return h(
    "section",
    { class: "card lg:col-span-3", "aria-labelledby": "balances-title", dataset: { balances: "" } },
    h("h2", { id: "balances-title", class: "card-title" }, "Balances"),
    balances.members.length ? table.el : h("p", { class: "muted text-sm" }, "No split expenses yet."),
    h("p", { class: "muted mt-3 text-xs" }, "Balance = paid − share + payments made − payments received."),
  );
}

function settleUpCard(settleUp, name, canWrite, ctx) {
  const { currency, transfers } = settleUp;
  const list = transfers.length
    ? h(
        "ul",
        { class: "divide-y divide-slate-200 dark:divide-slate-800" },
        transfers.map((t) => {
          const from = name(t.from);
          const to = name(t.to);
          const text = `${from} ${from === "You" ? "pay" : "pays"} ${to === "You" ? "you" : to} ${money(t.amount, currency)}`;
          return h(
            "li",
            { class: "flex flex-wrap items-center justify-between gap-2 py-3", dataset: { transfer: "" } },
            h("span", { class: "font-medium" }, text),
            canWrite && t.from !== null && t.to !== null
              ? h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Record this settlement: ${text}`, onClick: () => recordTransfer(t, text, currency, ctx) }, "Record this settlement")
              : null,
          );
        }),
      )
    : h("p", { class: "text-sm" }, "Everyone is settled up. Nothing to pay.");
  return h(
    "section",
    { class: "card lg:col-span-2", "aria-labelledby": "settle-title", dataset: { settleUp: "" } },
    h("h2", { id: "settle-title", class: "card-title" }, "Settle up"),
    transfers.length ? h("p", { class: "muted mb-2 text-sm" }, "The fewest payments that bring everyone to zero. Once one is paid, record it.") : null,
    list,
  );
}

async function recordTransfer(transfer, text, currency, ctx) {
  const ok = await confirmDialog({
    title: "Record this settlement?",
    message: `${text}, dated today. Record it once the money has actually changed hands.`,
    confirmLabel: "Record settlement",
  });
  if (!ok) return;
  try {
    await api(bookPath("/settlements/"), { method: "POST", body: { from: transfer.from, to: transfer.to, amount: transfer.amount, currency, date: isoDate() } });
    toast("Settlement recorded");
    if (!ctx.signal.aborted) ctx.reload();
  } catch (error) {
    toast(error.message, { error: true });
  }
}

function settlementsCard(book, name, canWrite, ctx) {
  const list = h("div", {});
  const table = dataTable({
    caption: "Payments between members, newest first",
    columns: [
      { label: "Date", cell: (s) => h("time", { datetime: s.date, class: "whitespace-nowrap" }, date(s.date)) },
      { label: "Payment", cell: (s) => h("div", {}, h("p", {}, `${name(s.from)} → ${name(s.to)}`), s.note ? h("p", { class: "muted text-xs" }, s.note) : null) },
      {
        label: "Amount",
        numeric: true,
        cell: (s) => h("div", { class: "whitespace-nowrap" }, money(s.amount, s.currency), s.currency !== book.base_currency ? h("p", { class: "muted text-xs" }, money(s.base_amount, book.base_currency)) : null),
      },
      {
        label: "Actions",
        class: canWrite ? "w-px" : "hidden",
        cell: (s) =>
          canWrite
            ? h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Delete the payment of ${money(s.amount, s.currency)} on ${date(s.date)}`, onClick: () => deleteSettlement(s, ctx) }, "Delete")
            : "",
      },
    ],
  });
  const paging = pagedRows({
    path: bookPath("/settlements/"),
    signal: ctx.signal,
    add: (rows, page) => {
      if (page.count === 0) replace(list, h("p", { class: "muted text-sm" }, "No payments recorded yet. Record one from Settle up, or with “Record a payment”."));
      else {
        if (!table.el.isConnected) replace(list, table.el);
        table.add(rows);
      }
    },
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "settlements-title", dataset: { settlements: "" } },
    h("h2", { id: "settlements-title", class: "card-title" }, "Payments between members"),
    list,
    paging.el,
  );
}

async function deleteSettlement(settlement, ctx) {
  const ok = await confirmDialog({
    title: "Delete this payment?",
    message: `The ${money(settlement.amount, settlement.currency)} payment of ${date(settlement.date)} is removed and the balances move back.`,
    confirmLabel: "Delete",
    danger: true,
  });
  if (!ok) return;
  try {
    await api(bookPath(`/settlements/${settlement.id}/`), { method: "DELETE" });
    toast("Payment deleted");
    if (!ctx.signal.aborted) ctx.reload();
  } catch (error) {
    toast(error.message, { error: true });
  }
}

function recordPayment({ book, people, user }) {
  const formId = "settlement-form";
  const form = h("form", { id: formId, class: "grid gap-4 sm:grid-cols-2" });
  const dialog = openDialog({
    title: "Record a payment",
    description: "Money one member gave another to settle up. It is not spending: reports and budgets leave it out.",
    body: form,
    footer: [
      h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Record payment"),
    ],
  });
  const options = people.map((m) => ({ value: String(m.user), label: m.user === user.id ? `${m.username} (you)` : m.username }));
  const other = people.find((m) => m.user !== user.id);
  currencies().then((rows) => {
    form.append(
      formAlert("sm:col-span-2"),
      field({ name: "from", label: "From (who paid)", type: "select", options, value: String(user.id) }),
      field({ name: "to", label: "To (who was paid)", type: "select", options, value: String(other?.user ?? "") }),
      field({ name: "amount", label: "Amount", required: true, inputmode: "decimal", autocomplete: "off" }),
      field({ name: "currency", label: "Currency", type: "select", options: rows.map((c) => ({ value: c.code, label: `${c.code} · ${c.name}` })), value: book.base_currency }),
      field({ name: "date", label: "Date", type: "date", value: isoDate() }),
      field({ name: "note", label: "Note", maxlength: "255", autocomplete: "off" }),
    );
    form.querySelector("[name=amount]").focus();
  });
  onSubmit(
    form,
    (values) => {
      const body = { from: Number(values.from), to: Number(values.to), amount: values.amount, currency: values.currency, date: values.date, note: values.note };
      if (!body.amount) delete body.amount;
      if (!body.date) delete body.date;
      return api(bookPath("/settlements/"), { method: "POST", body });
    },
    () => {
      dialog.close();
      toast("Payment recorded");
      emit("settlements:changed");
    },
  );
}

// The payer and split editor of an expense in a shared book (SPEC §15), added to the
// transaction form (records.js addFormPart). Modes: equal (tick members), shares (weights),
// exact (amounts that must add up to the expense) and percent (must add up to 100). Sums
// are checked live in exact decimals; the API still decides and its messages win. An
// untouched editor sends no split, so the API applies the book's default (new expense) or
// keeps the split (edit).

import { ApiError } from "../api.js";
import { me } from "../auth.js";
import { h, replace, uid } from "../dom.js";
import { money } from "../format.js";
import { addFormPart } from "../records.js";
import { currentBook, members } from "./book_switcher.js";
import { field } from "./forms.js";

export const MODES = [
  { value: "equal", label: "Equally", input: null },
  { value: "shares", label: "By shares", input: "Shares" },
  { value: "exact", label: "Exact amounts", input: "Amount" },
  { value: "percent", label: "Percentages", input: "Percent" },
];

const SCALE = 1_000_000n;

/** "12.5" → 12500000n (millionths); null when not a plain non-negative decimal. */
export function micros(text) {
  const match = /^\s*(\d{1,12})(?:[.,](\d{0,6}))?\s*$/.exec(text ?? "");
  if (!match) return null;
  return BigInt(match[1]) * SCALE + BigInt((match[2] || "").padEnd(6, "0"));
}

/** 12500000n → "12.5". */
export function decimal(value) {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const fraction = String(abs % SCALE).padStart(6, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${abs / SCALE}${fraction ? `.${fraction}` : ""}`;
}

const editors = new WeakMap();

addFormPart({
  async build({ record, kind, form }) {
    if (record && record.kind !== "expense") return null;
    const book = await currentBook();
    if (!book || book.kind !== "shared") return null;
    const [people, user] = await Promise.all([members(book.id), me()]);
    // A new expense of a shared book starts in the book's currency, not the person's own.
    const currency = form.querySelector("[name=currency]");
    if (!record && currency) currency.value = book.base_currency;
    const editor = splitEditor({ form, people, user, book, record });
    editors.set(form, editor);
    const sync = () => editor.setActive(form.dataset.kind === "expense");
    form.addEventListener("change", (event) => event.target.name === "kind" && sync());
    editor.setActive(kind === "expense");
    return editor.el;
  },
  values(form, kind) {
    const editor = editors.get(form);
    return editor && kind === "expense" ? editor.body() : {};
  },
});

function initialSplit({ record, book, people }) {
  const everyone = people.map((p) => p.user);
  const split = record ? record.split : book.default_split;
  if (!split || split.mode === "equal") {
    const users = split?.parts?.length ? split.parts.map((p) => p.user) : everyone;
    return { mode: "equal", values: new Map(users.map((u) => [u, ""])) };
  }
  return { mode: split.mode, values: new Map(split.parts.map((p) => [p.user, p.value ?? ""])) };
}

function splitEditor({ form, people, user, book, record }) {
  const amountInput = form.querySelector("[name=amount]");
  const currencyInput = form.querySelector("[name=currency]");
  const start = initialSplit({ record, book, people });
  let mode = start.mode;
  const included = new Map(people.map((p) => [p.user, start.mode === "equal" ? start.values.has(p.user) : true]));
  const typed = new Map(people.map((p) => [p.user, start.mode === "equal" ? "" : (start.values.get(p.user) ?? "")]));

  const payer = field({
    name: "paid_by",
    label: "Paid by",
    type: "select",
    options: people.map((p) => ({ value: String(p.user), label: p.user === user.id ? `${p.username} (you)` : p.username })),
    value: String(record?.paid_by ?? user.id),
  });
  const status = h("p", { class: "mt-2 text-sm", role: "status", "aria-live": "polite", dataset: { splitStatus: "" } });
  const error = h("p", { id: uid("split-error"), class: "field-error", hidden: true });
  const rows = h("ul", { class: "mt-2 divide-y divide-slate-200 dark:divide-slate-800" });
  const modeName = uid("split-mode");
  const modes = h(
    "div",
    { class: "flex flex-wrap gap-x-4 gap-y-2" },
    MODES.map((m) =>
      h(
        "label",
        { class: "flex items-center gap-2 text-sm" },
        h("input", {
          type: "radio",
          name: modeName,
          value: m.value,
          checked: m.value === mode,
          class: "size-4",
          onChange: () => {
            mode = m.value;
            draw();
          },
        }),
        m.label,
      ),
    ),
  );
  const fieldset = h(
    "fieldset",
    { class: "rounded-lg border border-slate-200 p-3 dark:border-slate-700", dataset: { field: "split" }, "aria-describedby": error.id },
    h("legend", { class: "label px-1" }, "Split between members"),
    error,
    modes,
    rows,
    status,
  );
  const el = h("div", { class: "grid gap-4 sm:col-span-2", dataset: { splitEditor: "" } }, payer, fieldset);

  const amount = () => micros(amountInput?.value);
  const currency = () => currencyInput?.value || book.base_currency;

  function draw() {
    const spec = MODES.find((m) => m.value === mode);
    replace(
      rows,
      people.map((p) => {
        const name = p.user === user.id ? `${p.username} (you)` : p.username;
        const control = spec.input
          ? h("input", {
              type: "text",
              inputmode: "decimal",
              autocomplete: "off",
              class: "input w-28 text-right",
              value: typed.get(p.user) ?? "",
              "aria-label": `${spec.input} for ${p.username}`,
              dataset: { splitUser: String(p.user) },
              onInput: (event) => {
                typed.set(p.user, event.target.value);
                check();
              },
            })
          : h("input", {
              type: "checkbox",
              class: "size-4",
              checked: included.get(p.user),
              "aria-label": `Include ${p.username}`,
              dataset: { splitUser: String(p.user) },
              onChange: (event) => {
                included.set(p.user, event.target.checked);
                check();
              },
            });
        return h(
          "li",
          { class: "flex items-center justify-between gap-3 py-2" },
          h("span", { class: "min-w-0 truncate text-sm" }, name),
          h("span", { class: "flex items-center gap-3" }, h("span", { class: "muted text-xs tabular-nums", dataset: { splitPreview: String(p.user) } }), control),
        );
      }),
    );
    check();
  }

  /** The parts as asked, the problem with them (or ""), and each member's preview. */
  function evaluate() {
    const total = amount();
    const previews = new Map();
    if (mode === "equal") {
      const users = people.filter((p) => included.get(p.user)).map((p) => p.user);
      if (!users.length) return { parts: [], problem: "Tick at least one member to share this expense.", previews };
      if (total !== null) users.forEach((u) => previews.set(u, total / BigInt(users.length)));
      const each = total !== null ? ` About ${money(decimal(total / BigInt(users.length)), currency())} each.` : "";
      return { parts: users.map((u) => ({ user: u })), problem: "", previews, note: `Split equally between ${users.length} ${users.length === 1 ? "member" : "members"}.${each}` };
    }
    const parts = [];
    for (const p of people) {
      const raw = (typed.get(p.user) ?? "").trim();
      if (!raw) continue;
      const value = micros(raw);
      if (value === null) return { parts, problem: `${p.username}: enter a number such as 12.50.`, previews };
      if (value === 0n && mode !== "exact") continue;
      parts.push({ user: p.user, value: decimal(value), micros: value });
    }
    if (!parts.length) return { parts, problem: "Enter a value for at least one member.", previews };
    const sum = parts.reduce((acc, part) => acc + part.micros, 0n);
    if (mode === "shares") {
      if (total !== null) parts.forEach((part) => previews.set(part.user, (total * part.micros) / sum));
      return { parts, problem: "", previews, note: `${decimal(sum)} shares in all between ${parts.length} ${parts.length === 1 ? "member" : "members"}.` };
    }
    if (mode === "percent") {
      if (total !== null) parts.forEach((part) => previews.set(part.user, (total * part.micros) / (100n * SCALE)));
      const left = 100n * SCALE - sum;
      if (left === 0n) return { parts, problem: "", previews, note: "The percentages add up to 100 %." };
      return {
        parts,
        previews,
        problem: left > 0n ? `The percentages add up to ${decimal(sum)} %: ${decimal(left)} % still to assign.` : `The percentages add up to ${decimal(sum)} %, ${decimal(-left)} % too much.`,
      };
    }
    parts.forEach((part) => previews.set(part.user, part.micros));
    if (total === null) return { parts, problem: "", previews, note: "Enter the expense's amount to check the parts." };
    const left = total - sum;
    if (left === 0n) return { parts, problem: "", previews, note: `The amounts add up to ${money(decimal(total), currency())}.` };
    return {
      parts,
      previews,
      problem:
        left > 0n
          ? `The amounts add up to ${money(decimal(sum), currency())} of ${money(decimal(total), currency())}: ${money(decimal(left), currency())} still to assign.`
          : `The amounts add up to ${money(decimal(sum), currency())}, ${money(decimal(-left), currency())} more than the expense.`,
    };
  }

  function check() {
    const result = evaluate();
    status.textContent = result.problem || result.note || "";
    status.className = result.problem ? "mt-2 text-sm font-medium text-amber-800 dark:text-amber-200" : "muted mt-2 text-sm";
    for (const slot of rows.querySelectorAll("[data-split-preview]")) {
      const value = result.previews.get(Number(slot.dataset.splitPreview));
      slot.textContent = value === undefined || mode === "exact" ? "" : `≈ ${money(decimal(value), currency())}`;
    }
    return result;
  }

  const asked = () => {
    const result = evaluate();
    return JSON.stringify({ mode, parts: result.parts.map(({ user: u, value }) => ({ user: u, value })) });
  };
  const untouched = asked();
  amountInput?.addEventListener("input", check);
  currencyInput?.addEventListener("change", check);
  draw();

  return {
    el,
    setActive(active) {
      el.hidden = !active;
      for (const control of el.querySelectorAll("input, select")) control.disabled = !active;
    },
    /** The body keys for the API; throws a field error when the sums do not work out. */
    body() {
      const result = check();
      if (result.problem) throw new ApiError(result.problem, { status: 400, code: "invalid", fields: { split: [result.problem] } });
      const data = { paid_by: Number(el.querySelector("[name=paid_by]").value) };
      if (asked() !== untouched) data.split = { mode, parts: result.parts.map(({ user: u, value }) => (mode === "equal" ? { user: u } : { user: u, value })) };
      return data;
    },
  };
}

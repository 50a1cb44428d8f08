// Expenses and income (SPEC §6): the add/edit dialog, delete, and receipts. Used by the
// transactions page and the dashboard's "Add transaction" button.

import { api, bookPath } from "./api.js";
import { me } from "./auth.js";
import { append, h, replace } from "./dom.js";
import { isoDate, money } from "./format.js";
import { categoryOptions, currencies, emit } from "./store.js";
import { confirmDialog, openDialog } from "./ui/dialog.js";
import { field, formAlert, onSubmit } from "./ui/forms.js";
import { errorState, loading } from "./ui/states.js";
import { toast } from "./ui/toast.js";

export const KINDS = {
  expense: { path: "/expenses/", label: "Expense" },
  income: { path: "/incomes/", label: "Income" },
};

export const PAYMENT_METHODS = [
  { value: "card", label: "Card" },
  { value: "cash", label: "Cash" },
  { value: "bank_transfer", label: "Bank transfer" },
  { value: "upi", label: "UPI" },
  { value: "mobile_wallet", label: "Mobile wallet" },
  { value: "other", label: "Other" },
];

/**
 * Parts a book adds to the form: {build({record, kind, form}) → Node|null, values(form, kind)
 * → extra body keys}. A shared book's payer and split editor is one (ui/split_editor.js).
 */
const formParts = [];
export function addFormPart(part) {
  formParts.push(part);
}

export function recordPath(kind, id) {
  return bookPath(id ? `${KINDS[kind].path}${id}/` : KINDS[kind].path);
}

/**
 * Opens the add/edit dialog. `record` (with `kind`) edits it, and can be deleted from it;
 * without one a new record is added, an expense unless `kind` says otherwise. Resolves
 * with the saved record (`deleted: true` when it was deleted), or null when cancelled.
 */
export function editRecord({ record = null, kind = record?.kind || "expense" } = {}) {
  return new Promise((resolve) => {
    let saved = null;
    const formId = "record-form";
    const body = h("div", {}, loading("Loading the form…"));
    const submit = h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Save");
    const remove = record
      ? h(
          "button",
          {
            type: "button",
            class: "btn btn-danger sm:mr-auto",
            onClick: async () => {
              if (await deleteRecord(record)) {
                saved = { ...record, deleted: true };
                dialog.close();
              }
            },
          },
          "Delete",
        )
      : null;
    const footer = [
      remove,
      h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
      submit,
    ];
    const dialog = openDialog({
      title: record ? `Edit ${KINDS[kind].label.toLowerCase()}` : "Add a transaction",
      body,
      footer,
      onClose: () => resolve(saved),
    });
    buildForm({ record, kind, formId })
      .then((form) => {
        onSubmit(
          form,
          (values) => save(form, values, record),
          (result) => {
            saved = result;
            emit("records:changed", { kind: result.kind, id: result.id });
            toast(`${KINDS[result.kind].label} saved`);
            dialog.close();
          },
        );
        replace(body, form);
        form.querySelector("[name=amount]")?.focus();
      })
      .catch((error) => replace(body, errorState(error, { compact: true })));
  });
}

async function buildForm({ record, kind, formId }) {
  const [user, currencyRows] = await Promise.all([me(), currencies()]);
  const currencyOptions = currencyRows.map((c) => ({ value: c.code, label: `${c.code} · ${c.name}` }));
  const form = h("form", { id: formId, class: "grid gap-4 sm:grid-cols-2", dataset: { kind } });
  const kindFields = h("div", { class: "contents" });

  async function drawKindFields(current) {
    form.dataset.kind = current;
    const options = await categoryOptions(current);
    replace(
      kindFields,
      field({
        name: "category",
        label: "Category",
        type: "select",
        options,
        empty: "No category",
        value: record?.category ?? "",
        class: "sm:col-span-1",
      }),
      current === "expense"
        ? [
            field({ name: "payment_method", label: "Payment method", type: "select", options: PAYMENT_METHODS, value: record?.payment_method || "card" }),
            field({ name: "merchant", label: "Merchant", value: record?.merchant || "", autocomplete: "off", class: "sm:col-span-2" }),
          ]
        : [field({ name: "source", label: "From (payer)", value: record?.source || "", autocomplete: "off" })],
    );
  }

  const kindChoice = record
    ? null
    : h(
        "fieldset",
        { class: "sm:col-span-2" },
        h("legend", { class: "label" }, "Type"),
        h(
          "div",
          { class: "flex gap-4" },
          Object.entries(KINDS).map(([value, { label }]) =>
            h(
              "label",
              { class: "flex items-center gap-2 text-sm" },
              h("input", {
                type: "radio",
                name: "kind",
                value,
                checked: value === kind,
                class: "size-4",
                onChange: () => drawKindFields(value),
              }),
              label,
            ),
          ),
        ),
      );

  const receiptField = field({
    name: "receipt",
    label: record?.receipt ? "Replace the receipt" : "Receipt",
    type: "file",
    accept: "image/*,application/pdf",
    hint: "A photo or PDF, up to 5 MB.",
    class: "sm:col-span-2",
  });
  const currentReceipt = record?.receipt
    ? h(
        "div",
        { class: "flex flex-wrap items-center gap-3 sm:col-span-2" },
        h("button", { type: "button", class: "btn btn-secondary btn-small", onClick: () => viewReceipt(record) }, "View the current receipt"),
        field({ name: "remove_receipt", label: "Remove the receipt", type: "checkbox" }),
      )
    : null;

  // dom.append skips null parts (no current receipt); the DOM's own append would print "null".
  append(form, [
    formAlert("sm:col-span-2"),
    kindChoice,
    field({ name: "amount", label: "Amount", required: true, inputmode: "decimal", autocomplete: "off", value: record?.amount || "" }),
    field({ name: "currency", label: "Currency", type: "select", options: currencyOptions, value: record?.currency || user.base_currency }),
    field({ name: "date", label: "Date", type: "date", required: true, value: record?.date || isoDate() }),
    field({ name: "description", label: "Description", required: true, maxlength: "255", autocomplete: "off", value: record?.description || "" }),
    kindFields,
    field({
      name: "tags",
      label: "Tags",
      hint: "Separate tags with commas.",
      value: (record?.tags || []).join(", "),
      autocomplete: "off",
      class: "sm:col-span-2",
    }),
    field({ name: "notes", label: "Notes", type: "textarea", rows: 2, value: record?.notes || "", class: "sm:col-span-2" }),
    currentReceipt,
    receiptField,
  ]);
  await drawKindFields(kind);
  for (const part of formParts) {
    const node = await part.build({ record, kind, form });
    if (node) form.append(node);
  }
  return form;
}

/** POST or PATCH the form: JSON, or multipart when a receipt file goes with it. */
async function save(form, values, record) {
  const kind = record?.kind || values.kind || form.dataset.kind;
  const data = {
    amount: values.amount,
    currency: values.currency,
    date: values.date,
    description: values.description,
    category: values.category ? Number(values.category) : null,
    tags: values.tags ? values.tags.split(",").map((t) => t.trim()).filter(Boolean) : [],
    notes: values.notes,
  };
  if (kind === "expense") {
    data.payment_method = values.payment_method;
    data.merchant = values.merchant;
  } else {
    data.source = values.source;
  }
  if (values.remove_receipt) data.receipt = null;
  for (const part of formParts) Object.assign(data, part.values(form, kind));
  // A new record's empty required values are left out, so the API says they are required.
  if (!record) for (const key of ["amount", "date"]) if (data[key] === "") delete data[key];
  const method = record ? "PATCH" : "POST";
  const path = recordPath(kind, record?.id);
  let result;
  if (values.receipt) {
    const multipart = new FormData();
    for (const [key, value] of Object.entries(data)) {
      if (key === "tags") value.forEach((tag) => multipart.append("tags", tag));
      else if (value !== null && key !== "split") multipart.append(key, value);
      else if (key === "category" && record) multipart.append(key, "");
    }
    multipart.append("receipt", values.receipt);
    result = await api(path, { method, form: multipart });
    // A split is nested JSON, which multipart cannot carry: it follows in a JSON PATCH.
    if (data.split) result = await api(recordPath(kind, result.id), { method: "PATCH", body: { split: data.split } });
  } else {
    result = await api(path, { method, body: data });
  }
  return { ...result, kind };
}

export async function deleteRecord(record) {
  const label = KINDS[record.kind].label.toLowerCase();
  const ok = await confirmDialog({
    title: `Delete this ${label}?`,
    message: `“${record.description}”, ${money(record.amount, record.currency)} on ${record.date}, will be deleted with its receipt. This cannot be undone.`,
    confirmLabel: "Delete",
    danger: true,
  });
  if (!ok) return false;
  await api(recordPath(record.kind, record.id), { method: "DELETE" });
  emit("records:changed", { kind: record.kind, id: record.id, deleted: true });
  toast(`${KINDS[record.kind].label} deleted`);
  return true;
}

/** Shows the receipt (fetched with the access token: it is not a public file). */
export function viewReceipt(record) {
  const body = h("div", { class: "min-h-40" }, loading("Loading the receipt…"));
  let objectUrl = null;
  openDialog({
    title: `Receipt: ${record.description}`,
    body,
    onClose: () => objectUrl && URL.revokeObjectURL(objectUrl),
  });
  api(record.receipt, { as: "blob" })
    .then((blob) => {
      objectUrl = URL.createObjectURL(blob);
      const download = h("a", { class: "link", href: objectUrl, download: `receipt-${record.kind}-${record.id}` }, "Download the receipt");
      if (blob.type.startsWith("image/")) {
        replace(
          body,
          h("img", { src: objectUrl, alt: `Receipt for ${record.description}`, class: "mx-auto max-h-[70vh] rounded-lg" }),
          h("p", { class: "mt-3 text-sm" }, download),
        );
      } else {
        replace(
          body,
          h("p", { class: "mb-3" }, "This receipt is a PDF document."),
          h("p", { class: "flex flex-wrap gap-4 text-sm" }, h("a", { class: "link", href: objectUrl, target: "_blank", rel: "noopener" }, "Open the PDF"), download),
        );
      }
    })
    .catch((error) => replace(body, errorState(error, { compact: true })));
}

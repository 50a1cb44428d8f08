// Exports and backup/restore (SPEC §11). Files are fetched with the access token in the
// Authorization header and saved from a blob (ui/export_download.js): no token ever goes
// into a URL. Record exports take the lists' filters; the monthly report a month; the
// backup restores in `merge` (adds) or `replace` (deletes the book's records first, asked
// for again in a dialog) and the answer's counts per section are shown.

import { ApiError, api, book, bookPath } from "../api.js";
import { h, replace, uid } from "../dom.js";
import { route } from "../router.js";
import { categories, emit, invalidate } from "../store.js";
import { confirmDialog } from "../ui/dialog.js";
import { clearErrors, field, formAlert, onSubmit, showErrors, values } from "../ui/forms.js";
import { download, fileSize } from "../ui/export_download.js";
import { notice } from "../ui/import_pages.js";
import { pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

const FILES = [
  { path: "/export/expenses.csv", label: "Expenses (CSV)", fallback: "expenses.csv" },
  { path: "/export/incomes.csv", label: "Income (CSV)", fallback: "incomes.csv" },
  { path: "/export/transactions.xlsx", label: "Both, as an Excel workbook", fallback: "transactions.xlsx" },
];
const FILTERS = ["start_date", "end_date", "category", "search", "tag", "min_amount", "max_amount"];
const SECTION_LABELS = {
  categories: "Categories",
  tags: "Tags",
  rules: "Rules",
  expenses: "Expenses",
  incomes: "Income",
  budgets: "Budgets",
  goals: "Goals",
  contributions: "Goal contributions",
  recurring: "Recurring items",
  settlements: "Settlements",
};

route({
  path: "/export",
  title: "Export and backup",
  nav: { label: "Export", order: 62 },
  render: async (ctx) => {
    const allCategories = await categories();
    return h(
      "div",
      {},
      pageHeader("Export and backup", { subtitle: "Download your records as files, or a full backup you can restore later." }),
      h("div", { class: "grid gap-6 lg:grid-cols-2" }, recordsCard(allCategories, ctx), h("div", { class: "grid content-start gap-6" }, reportCard(ctx), backupCard(ctx))),
      restoreCard(),
    );
  },
});

/** One button per file, all sharing the filters form; the last file saved is named. */
function recordsCard(allCategories, ctx) {
  const formId = uid("export-form");
  const group = (kind, label) =>
    h(
      "optgroup",
      { label },
      allCategories.filter((c) => c.kind === kind).map((c) => h("option", { value: String(c.id) }, c.name)),
    );
  const categorySelect = field({ name: "category", label: "Category", type: "select", empty: "Any category", options: [] });
  categorySelect.querySelector("select").append(group("expense", "Expense categories"), group("income", "Income categories"));
  const status = h("p", { class: "text-sm", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { id: formId, class: "grid gap-4 sm:grid-cols-2", "aria-label": "Export filters" },
    formAlert("sm:col-span-2"),
    field({ name: "start_date", label: "From", type: "date" }),
    field({ name: "end_date", label: "To", type: "date" }),
    categorySelect,
    field({ name: "tag", label: "Tag", autocomplete: "off" }),
    field({ name: "min_amount", label: "Amount at least", inputmode: "decimal", autocomplete: "off" }),
    field({ name: "max_amount", label: "Amount at most", inputmode: "decimal", autocomplete: "off" }),
    field({ name: "search", label: "Search", type: "search", placeholder: "Description, merchant, notes", class: "sm:col-span-2" }),
  );
  form.noValidate = true;
  form.addEventListener("submit", (event) => event.preventDefault());
  const buttons = FILES.map((file) =>
    h(
      "button",
      {
        type: "button",
        class: "btn btn-secondary",
        onClick: async (event) => {
          const button = event.currentTarget;
          const data = values(form);
          const query = Object.fromEntries(FILTERS.map((name) => [name, data[name]]).filter(([, v]) => v));
          button.disabled = true;
          status.textContent = `Preparing ${file.label.toLowerCase()}…`;
          try {
            clearErrors(form);
            const saved = await download(bookPath(file.path), { query, fallbackName: file.fallback, signal: ctx.signal });
            status.textContent = `Downloaded ${saved.name} (${fileSize(saved.size)}).`;
          } catch (error) {
            if (error.name === "AbortError") return;
            status.textContent = "";
            showErrors(form, error);
          } finally {
            button.disabled = false;
          }
        },
      },
      `Download ${file.label.replace(/^./, (c) => c.toLowerCase())}`,
    ),
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "export-records-title" },
    h("h2", { id: "export-records-title", class: "card-title" }, "Transactions"),
    h("p", { class: "muted mb-4 text-sm" }, "Every record matching the filters (leave them empty for all). CSV opens in any spreadsheet; the workbook adds a summary sheet."),
    form,
    h("div", { class: "mt-4 flex flex-wrap gap-2" }, buttons),
    h("div", { class: "mt-3" }, status),
  );
}

function reportCard(ctx) {
  const formId = uid("report-form");
  const now = new Date();
  const thisMonth = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const status = h("p", { class: "text-sm", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { id: formId, class: "grid gap-4", "aria-label": "Monthly report" },
    formAlert(),
    field({ name: "month", label: "Month", type: "month", value: thisMonth, hint: "Empty: the current budget month." }),
    h("div", {}, h("button", { type: "submit", class: "btn btn-secondary" }, "Download the report (PDF)")),
  );
  onSubmit(
    form,
    async (data) => download(bookPath("/export/report.pdf"), { query: { month: data.month }, fallbackName: "report.pdf", signal: ctx.signal }),
    (saved) => {
      status.textContent = `Downloaded ${saved.name} (${fileSize(saved.size)}).`;
    },
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "export-report-title" },
    h("h2", { id: "export-report-title", class: "card-title" }, "Monthly report"),
    h("p", { class: "muted mb-4 text-sm" }, "A printable summary of one month: spending by category, budgets and goals."),
    form,
    h("div", { class: "mt-3" }, status),
  );
}

function backupCard(ctx) {
  const status = h("p", { class: "text-sm", role: "status", "aria-live": "polite" });
  const button = h(
    "button",
    {
      type: "button",
      class: "btn btn-primary",
      onClick: async () => {
        button.disabled = true;
        status.textContent = "Preparing the backup…";
        try {
          const saved = await download(bookPath("/export/backup.json"), { fallbackName: "budget-tracker-backup.json", signal: ctx.signal });
          status.textContent = `Downloaded ${saved.name} (${fileSize(saved.size)}). Keep it somewhere safe.`;
        } catch (error) {
          if (error.name !== "AbortError") status.textContent = error.message;
        } finally {
          button.disabled = false;
        }
      },
    },
    "Download a backup",
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "export-backup-title" },
    h("h2", { id: "export-backup-title", class: "card-title" }, "Backup"),
    h(
      "p",
      { class: "muted mb-4 text-sm" },
      book()
        ? "Everything in this book — categories, tags, rules, transactions, budgets, goals, recurring items — in one JSON file. Receipt files are not included."
        : "Everything you own — categories, tags, rules, transactions, budgets, goals, recurring items and settings — in one JSON file. Receipt files are not included.",
    ),
    button,
    h("div", { class: "mt-3" }, status),
  );
}

function restoreCard() {
  const formId = uid("restore-form");
  const result = h("div", { class: "mt-4" });
  const form = h(
    "form",
    { id: formId, class: "grid gap-4 sm:grid-cols-2", "aria-label": "Restore a backup" },
    formAlert("sm:col-span-2"),
    field({ name: "file", label: "Backup file", type: "file", accept: ".json,application/json", required: true, hint: "A file from “Download a backup”." }),
    h(
      "fieldset",
      { dataset: { field: "mode" } },
      h("legend", { class: "label" }, "How to restore"),
      h(
        "div",
        { class: "grid gap-2" },
        [
          ["merge", "Add to what is here", "Keeps your records; skips the ones already here."],
          ["replace", "Replace what is here", "Deletes this book's records first, then restores the backup."],
        ].map(([value, label, hint]) => {
          const id = uid(`mode-${value}`);
          return h(
            "div",
            { class: "flex items-start gap-2" },
            h("input", { type: "radio", name: "mode", value, id, checked: value === "merge", class: "mt-0.5 size-4", "aria-describedby": `${id}-hint` }),
            h("div", {}, h("label", { for: id, class: "text-sm font-medium" }, label), h("p", { id: `${id}-hint`, class: "hint mt-0" }, hint)),
          );
        }),
      ),
      h("p", { class: "field-error", hidden: true }),
    ),
    h("div", { class: "sm:col-span-2" }, h("button", { type: "submit", class: "btn btn-primary" }, "Restore")),
  );
  onSubmit(
    form,
    async (data) => {
      replace(result);
      if (!data.file) {
        throw new ApiError("Choose the backup file to restore.", { status: 400, fields: { file: ["Choose the backup file to restore."] } });
      }
      if (
        data.mode === "replace" &&
        !(await confirmDialog({
          title: "Replace everything?",
          message: "This book's categories, tags, rules, expenses, income, budgets, goals and recurring items are deleted first, then the backup is restored. Download a backup of the current state first if you may want it back.",
          confirmLabel: "Delete and restore",
          danger: true,
        }))
      ) {
        return null;
      }
      const upload = new FormData();
      upload.append("file", data.file);
      upload.append("mode", data.mode || "merge");
      try {
        return await api(bookPath("/import/backup/"), { method: "POST", form: upload });
      } catch (error) {
        throw restoreProblems(error, result);
      }
    },
    (answer) => {
      if (!answer) return;
      invalidate("categories");
      invalidate("me");
      emit("records:changed", { kind: "backup" });
      toast("Backup restored");
      const shown = restoredTable(answer);
      replace(result, shown);
      form.reset();
      shown.focus();
    },
  );
  return h(
    "section",
    { class: "card mt-6", "aria-labelledby": "export-restore-title" },
    h("h2", { id: "export-restore-title", class: "card-title" }, "Restore a backup"),
    h("p", { class: "muted mb-4 text-sm" }, "The whole file is checked first: if anything in it is wrong, nothing is stored and the problems are listed."),
    form,
    result,
  );
}

/**
 * A backup's 400 names its problems by path ({"expenses": {"12": {"amount": [...]}}}):
 * they are listed under the form, and the form's alert says nothing was stored.
 */
function restoreProblems(error, result) {
  if (!(error instanceof ApiError) || error.status !== 400) return error;
  const own = Object.keys(error.fields).filter((k) => k === "file" || k === "mode");
  if (own.length === Object.keys(error.fields).length) return error;
  const problems = [];
  const walk = (value, path) => {
    if (problems.length >= 50) return;
    if (typeof value === "string") problems.push(path.length ? `${path.join(" › ")}: ${value}` : value);
    else if (Array.isArray(value) && value.every((v) => typeof v === "string")) walk(value.join(" "), path);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, String(i)]));
    else if (value && typeof value === "object") Object.entries(value).forEach(([k, v]) => walk(v, k === "non_field_errors" ? path : [...path, k]));
  };
  walk(error.fields, []);
  replace(
    result,
    h(
      "div",
      { class: "alert" },
      h("p", { class: "font-semibold" }, "Problems in the backup file"),
      h("ul", { class: "mt-2 list-disc pl-5" }, problems.map((p) => h("li", {}, p))),
    ),
  );
  const count = problems.length >= 50 ? "50+" : String(problems.length);
  const noun = problems.length === 1 ? "problem" : "problems";
  return new ApiError(`The backup was not restored: ${count} ${noun}, listed below. Nothing was stored.`, { status: 400 });
}

function restoredTable(answer) {
  const rows = Object.entries(answer.sections || {}).map(([name, counts]) => ({ name, ...counts }));
  return notice(
    h("p", { class: "font-semibold" }, answer.mode === "replace" ? "The backup replaced this book's records." : "The backup was added to this book's records."),
    answer.settings_applied ? h("p", {}, "Its settings and notification preferences were applied too.") : null,
    h(
      "div",
      { class: "mt-3" },
      dataTable({
        caption: "What the restore did",
        columns: [
          { label: "Records", cell: (r) => SECTION_LABELS[r.name] || r.name },
          { label: "Restored", numeric: true, cell: (r) => String(r.created) },
          { label: "Already here", numeric: true, cell: (r) => String(r.skipped) },
          { label: "Deleted first", numeric: true, cell: (r) => String(r.deleted) },
        ],
        rows,
      }).el,
    ),
  );
}

// The import wizard (SPEC §11): upload a statement → a preview batch (nothing stored yet)
// with its rows, unreadable lines, duplicates and possible duplicates → commit (kept
// possible duplicates in `keep_lines`; a queued commit is polled) → undo from the history.
// CSV/XLSX column mapping re-previews as it changes: each change uploads again and the
// superseded preview batch is discarded, one request at a time. Saved mappings
// (/imports/profiles/) are listed, deleted, saved from a preview, and the preview says
// when one was applied by the file's header.

import { api, bookPath } from "../api.js";
import { me } from "../auth.js";
import { h, replace, uid } from "../dom.js";
import { ago, date, money } from "../format.js";
import { href, route } from "../router.js";
import { currencies, emit } from "../store.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { clearErrors, field, formAlert, onSubmit, showErrors, values } from "../ui/forms.js";
import { columnChoices, csvHeader, ROLES, TABLE_FORMATS, tableKind, uploadOptions } from "../ui/import_columns.js";
import { notice, pagedList, waitForBatch } from "../ui/import_pages.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

const FORMATS = [
  { value: "auto", label: "Detect from the file" },
  { value: "csv", label: "CSV" },
  { value: "xlsx", label: "Excel (XLSX)" },
  { value: "ofx", label: "OFX" },
  { value: "qfx", label: "QFX" },
  { value: "qif", label: "QIF" },
  { value: "camt", label: "camt.053 / camt.052 (ISO 20022 XML)" },
  { value: "mt940", label: "MT940" },
];
const ACCEPT = ".csv,.txt,.tsv,.xlsx,.ofx,.qfx,.qif,.xml,.sta,.mt940,.940";
const ROWS_PER_PAGE = 50;
const LIVE_DELAY_MS = 400;

const STATUS = {
  preview: { text: "Preview", badge: "badge badge-warn" },
  committing: { text: "Importing…", badge: "badge badge-warn" },
  committed: { text: "Imported", badge: "badge badge-ok" },
  undoing: { text: "Undoing…", badge: "badge badge-warn" },
  undone: { text: "Undone", badge: "badge bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200" },
  failed: { text: "Failed", badge: "badge badge-exceeded" },
};

const importPath = (id, tail = "") => bookPath(id ? `/imports/${id}/${tail}` : "/imports/");
const profilePath = (id) => bookPath(id ? `/imports/profiles/${id}/` : "/imports/profiles/");

route({
  path: "/import",
  title: "Import",
  nav: { label: "Import", order: 60 },
  render: async (ctx) => {
    const [user, currencyRows] = await Promise.all([me(), currencies()]);
    let batch = null; // the preview on screen
    let file = null;

    // --- upload and mapping ----------------------------------------------------------
    const formId = uid("import-form");
    const profileSelect = field({ name: "profile", label: "Saved mapping", type: "select", empty: "Automatic (match the file's header)", options: [] });
    const mapping = h("div", { class: "grid gap-4 sm:grid-cols-2 lg:grid-cols-4" });
    const mappingPanel = h(
      "details",
      { class: "rounded-lg border border-slate-200 p-4 sm:col-span-2 lg:col-span-4 dark:border-slate-700", hidden: true },
      h("summary", { class: "cursor-pointer font-semibold" }, "Column mapping and CSV options"),
      h("p", { class: "muted mt-2 text-sm" }, "Leave a column on “Detect” to let the importer find it by its header. The preview updates as you change these."),
      h("div", { class: "mt-4", dataset: { field: "columns" } }, h("p", { class: "field-error", hidden: true }), mapping),
    );
    const form = h(
      "form",
      { id: formId, class: "grid gap-4 sm:grid-cols-2 lg:grid-cols-4", "aria-label": "Upload a statement" },
      formAlert("sm:col-span-2 lg:col-span-4"),
      field({
        name: "file",
        label: "Statement file",
        type: "file",
        accept: ACCEPT,
        required: true,
        hint: "CSV, Excel (XLSX), OFX, QFX, QIF, camt.053/052 or MT940, as your bank exports it.",
        class: "sm:col-span-2",
      }),
      field({ name: "format", label: "Format", type: "select", options: FORMATS, value: "auto" }),
      field({
        name: "default_currency",
        label: "Currency",
        type: "select",
        empty: `The file's, else ${user.base_currency}`,
        options: currencyRows.map((c) => ({ value: c.code, label: `${c.code} · ${c.name}` })),
        hint: "For files that do not say.",
      }),
      h("div", { class: "sm:col-span-2" }, profileSelect),
      mappingPanel,
      h("div", { class: "flex flex-wrap gap-2 sm:col-span-2 lg:col-span-4" }, h("button", { type: "submit", class: "btn btn-primary" }, "Preview")),
    );
    const fileInput = form.querySelector("[name=file]");
    let header = [];
    let kind = null;

    const roleGrid = h("div", { class: "contents" });
    const optionGrid = h("div", { class: "contents" });
    mapping.append(roleGrid, optionGrid);

    /** The role selects, offering the file's header names (redrawn when they change). */
    function drawRoles(previous = {}) {
      const choices = columnChoices(header, kind);
      replace(
        roleGrid,
        ROLES.map((role) =>
          field({
            name: `col_${role.name}`,
            label: role.label,
            type: "select",
            empty: "Detect",
            options: choices,
            value: choices.some((c) => c.value === previous[`col_${role.name}`]) ? previous[`col_${role.name}`] : "",
          }),
        ),
      );
    }

    /** The CSV/XLSX options (drawn when the kind of file changes). */
    function drawOptions(previous = {}) {
      replace(
        optionGrid,
        kind === "csv"
          ? [
              field({
                name: "delimiter",
                label: "Separator",
                type: "select",
                value: previous.delimiter || "",
                options: [
                  { value: "", label: "Detect" },
                  { value: ",", label: "Comma ( , )" },
                  { value: ";", label: "Semicolon ( ; )" },
                  { value: "tab", label: "Tab" },
                  { value: "|", label: "Bar ( | )" },
                ],
              }),
              field({ name: "skip_rows", label: "Lines before the header", type: "number", min: "0", max: "1000", inputmode: "numeric", value: previous.skip_rows || "", hint: "Empty: skipped automatically." }),
            ]
          : null,
        field({
          name: "decimal_separator",
          label: "Decimal separator",
          type: "select",
          value: previous.decimal_separator || "",
          options: [
            { value: "", label: "Detect" },
            { value: ".", label: "Point (1,234.56)" },
            { value: ",", label: "Comma (1.234,56)" },
          ],
        }),
        field({ name: "date_format", label: "Date format", value: previous.date_format || "", placeholder: "%d.%m.%Y", autocomplete: "off", hint: "Empty: detected. E.g. %d/%m/%Y." }),
        field({ name: "negate", label: "Flip signs (charges are positive, e.g. card statements)", type: "checkbox", value: previous.negate, class: "sm:col-span-2 self-end" }),
      );
    }

    /** A new file or format: which mapping applies, and the header it offers. */
    async function chooseFile() {
      file = fileInput.files[0] || null;
      const previous = kind ? values(form) : {};
      kind = tableKind(file, form.elements.format.value);
      mappingPanel.hidden = !kind;
      drawOptions(kind ? previous : {});
      await readHeader(kind ? previous : {});
    }

    /** The CSV's header cells, read again when the separator or skipped lines change. */
    async function readHeader(previous = values(form)) {
      header = [];
      if (file && kind === "csv") {
        try {
          header = await csvHeader(file, { delimiter: mappingValue("delimiter"), skipRows: mappingValue("skip_rows") });
        } catch {
          header = [];
        }
      }
      drawRoles(previous);
    }

    function mappingValue(name) {
      const el = form.elements[name];
      if (!el || el.disabled) return "";
      return name === "delimiter" && el.value === "tab" ? "\t" : el.value;
    }

    // One preview request at a time; a change while one runs previews again after it.
    let running = false;
    let again = false;
    let timer = null;
    async function preview({ live = false } = {}) {
      if (!file) {
        const slot = form.querySelector("[data-field=file] .field-error");
        clearErrors(form);
        slot.textContent = "Choose the statement file to import.";
        slot.hidden = false;
        fileInput.setAttribute("aria-invalid", "true");
        fileInput.focus();
        return;
      }
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          await previewOnce({ live });
        } while (again && !ctx.signal.aborted);
      } finally {
        running = false;
      }
    }

    async function previewOnce({ live }) {
      const data = values(form);
      const upload = new FormData();
      upload.append("file", file);
      upload.append("format", data.format || "auto");
      if (data.default_currency) upload.append("default_currency", data.default_currency);
      if (data.profile) upload.append("profile", data.profile);
      if (kind) for (const [name, value] of Object.entries(uploadOptions(data))) upload.append(name, value);
      form.setAttribute("aria-busy", "true");
      if (!batch) replace(previewArea, loading("Reading the statement…"));
      else previewStatus.textContent = "Updating the preview…";
      const active = document.activeElement;
      try {
        const fresh = await api(importPath(), { method: "POST", form: upload });
        clearErrors(form);
        if (ctx.signal.aborted) return discard(fresh);
        const old = batch;
        batch = fresh;
        if (old && old.status === "preview" && old.id !== fresh.id) discard(old);
        drawPreview();
        history.load();
      } catch (error) {
        if (error.name === "AbortError") return;
        showErrors(form, error);
        if (live && active && form.contains(active)) active.focus();
        if (batch?.status === "preview") discard(batch);
        batch = null;
        const needsMapping = error.status === 400 && kind && /header|column/i.test(error.message);
        if (needsMapping) mappingPanel.open = true;
        replace(
          previewArea,
          emptyState({
            title: "No preview yet",
            body: needsMapping
              ? "The importer could not tell which columns hold the date, description and amount. Choose them under “Column mapping and CSV options”; the preview updates as you do."
              : "Fix what the form says above, then preview again.",
          }),
        );
      } finally {
        form.removeAttribute("aria-busy");
        previewStatus.textContent = "";
      }
    }

    function discard(old) {
      api(importPath(old.id), { method: "DELETE" }).catch(() => {});
    }

    function schedule() {
      if (!file) return;
      clearTimeout(timer);
      timer = setTimeout(() => preview({ live: true }), LIVE_DELAY_MS);
    }
    ctx.onLeave(() => clearTimeout(timer));

    fileInput.addEventListener("change", async () => {
      if (batch?.status === "preview") discard(batch);
      batch = null;
      form.elements.profile.value = "";
      await chooseFile();
      if (file) preview();
    });
    form.addEventListener("change", async (event) => {
      const name = event.target.name;
      if (!name || name === "file") return;
      if (name === "format") await chooseFile();
      else if (name === "delimiter" || name === "skip_rows") await readHeader();
      schedule();
    });
    form.addEventListener("input", (event) => event.target.name === "date_format" && schedule());
    form.noValidate = true;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(timer);
      preview();
    });

    // --- the preview ------------------------------------------------------------------
    const previewStatus = h("p", { class: "muted text-sm", role: "status", "aria-live": "polite" });
    const previewArea = h(
      "div",
      {},
      emptyState({ title: "No statement chosen yet", body: "Choose a file above. You see every row before anything is stored, and you can undo an import later." }),
    );

    function drawPreview() {
      const keep = new Set();
      const errors = batch.errors || [];
      const rowsTable = previewTable(batch, keep, () => drawCount());
      const skipErrors = errors.length ? field({ name: "skip_errors", label: `Skip the ${errors.length} unreadable ${errors.length === 1 ? "row" : "rows"} and import the rest`, type: "checkbox" }) : null;
      const commitForm = h("form", { class: "mt-4 grid gap-3", "aria-label": "Import these rows" }, formAlert(), skipErrors);
      const commitButton = h("button", { type: "submit", class: "btn btn-primary" }, "Import");
      const count = () => batch.new_rows + keep.size;
      function drawCount() {
        const n = count();
        commitButton.textContent = n ? `Import ${n.toLocaleString()} ${n === 1 ? "transaction" : "transactions"}` : "Nothing new to import";
        commitButton.disabled = n === 0;
      }
      drawCount();
      commitForm.append(
        h(
          "div",
          { class: "flex flex-wrap gap-2" },
          commitButton,
          TABLE_FORMATS.has(batch.format) ? h("button", { type: "button", class: "btn btn-secondary", onClick: () => saveMapping(batch) }, "Save this mapping") : null,
          h("button", { type: "button", class: "btn btn-secondary", onClick: () => startOver() }, "Discard"),
        ),
      );
      onSubmit(commitForm, async (data) => {
        const body = { skip_errors: Boolean(data.skip_errors), keep_lines: [...keep].sort((a, b) => a - b) };
        const response = await api(importPath(batch.id, "commit/"), { method: "POST", body, as: "response" });
        const result = await response.json();
        return { queued: response.status === 202, result };
      }, async ({ queued, result }) => committed(queued, result));

      replace(
        previewArea,
        h(
          "section",
          { "aria-labelledby": "import-preview-title" },
          h("h2", { id: "import-preview-title", class: "card-title" }, `Preview of ${batch.filename || "the statement"}`),
          summary(batch),
          batch.profile
            ? h(
                "p",
                { class: "mt-3 text-sm", dataset: { profileNote: "" } },
                batch.profile.matched_by === "fingerprint"
                  ? `Your saved mapping “${batch.profile.name}” was used: the file's header matches it.`
                  : `Your saved mapping “${batch.profile.name}” was used.`,
              )
            : null,
          errors.length ? errorList(errors) : null,
          batch.duplicate_rows && !batch.new_rows && !batch.possible_duplicate_rows
            ? h("p", { class: "mt-4 font-medium" }, "Everything in this file has been imported before: nothing new would be stored.")
            : null,
          batch.possible_duplicate_rows
            ? h("p", { class: "mt-4 text-sm" }, "Rows marked “Possible duplicate” look like transactions you entered yourself; they are skipped unless you tick “Import anyway”.")
            : null,
          h("div", { class: "mt-4" }, rowsTable),
          batch.rows_truncated ? h("p", { class: "muted mt-2 text-sm" }, `The preview shows the first ${batch.rows.length.toLocaleString()} rows; all ${batch.total_rows.toLocaleString()} are imported.`) : null,
          commitForm,
        ),
      );
    }

    async function committed(queued, result) {
      let counts = result;
      if (queued) {
        replace(previewArea, loading(`Importing ${batch.new_rows.toLocaleString()} rows… You can leave this page; the import carries on.`));
        const done = await waitForBatch(importPath(batch.id), { done: ["committed", "failed"], signal: ctx.signal });
        if (!done || done.status === "failed") {
          replace(previewArea, errorState(new Error(done?.error || "The import failed; nothing was stored."), { compact: true }));
          history.load();
          return;
        }
        counts = { expenses: done.expense_count, incomes: done.income_count };
      }
      const id = batch.id;
      batch = null;
      emit("records:changed", { kind: "import", id });
      history.load();
      const skipped = [
        counts.duplicates_skipped ? `${counts.duplicates_skipped} already imported` : null,
        counts.possible_duplicates_skipped ? `${counts.possible_duplicates_skipped} possible duplicates` : null,
        counts.errors_skipped ? `${counts.errors_skipped} unreadable` : null,
      ].filter(Boolean);
      const done = notice(
        h("p", { class: "font-semibold" }, `Imported ${plural(counts.expenses, "expense")} and ${counts.incomes.toLocaleString()} income.`),
        skipped.length ? h("p", {}, `Skipped: ${skipped.join(", ")}.`) : null,
        h(
          "p",
          { class: "mt-2 flex flex-wrap gap-3" },
          h("a", { class: "link", href: href("/transactions") }, "See them in Transactions"),
          h("button", { type: "button", class: "link cursor-pointer", onClick: () => undo({ id, expense_count: counts.expenses, income_count: counts.incomes }) }, "Undo this import"),
        ),
      );
      replace(previewArea, done);
      form.reset();
      file = null;
      kind = null;
      mappingPanel.hidden = true;
      done.focus();
    }

    function startOver() {
      if (batch?.status === "preview") discard(batch);
      batch = null;
      form.reset();
      file = null;
      kind = null;
      mappingPanel.hidden = true;
      replace(previewArea, emptyState({ title: "Preview discarded", body: "Nothing was stored. Choose a file to start again." }));
      history.load();
      fileInput.focus();
    }

    // --- history and undo -------------------------------------------------------------
    const history = pagedList({
      path: () => importPath(),
      pageSize: 10,
      noun: "imports",
      signal: ctx.signal,
      empty: () => emptyState({ title: "No imports yet", body: "Statements you import are listed here, and can be undone." }),
      draw: (rows) =>
        dataTable({
          caption: "Your imports, newest first",
          columns: [
            { label: "When", class: "hidden sm:table-cell", cell: (b) => h("time", { datetime: b.created_at, title: date(b.created_at) }, ago(b.created_at)) },
            {
              label: "File",
              cell: (b) =>
                h(
                  "div",
                  { class: "min-w-0" },
                  h("p", { class: "font-medium break-words" }, b.filename || "—"),
                  h("p", { class: "muted text-xs" }, b.format.toUpperCase(), h("span", { class: "sm:hidden" }, ` · ${ago(b.created_at)}`)),
                ),
            },
            { label: "Status", cell: (b) => h("span", { class: (STATUS[b.status] || STATUS.preview).badge }, (STATUS[b.status] || { text: b.status }).text) },
            { label: "Stored", class: "hidden sm:table-cell", cell: (b) => (b.status === "committed" ? `${plural(b.expense_count, "expense")}, ${b.income_count} income` : b.error || "—") },
            { label: h("span", { class: "sr-only" }, "Actions"), class: "w-px", cell: historyActions },
          ],
          rows,
        }).el,
    });

    function historyActions(b) {
      const name = b.filename || `import ${b.id}`;
      const buttons = [];
      if (b.status === "committed") {
        buttons.push(h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Undo the import of ${name}`, onClick: () => undo(b) }, "Undo"));
      } else if (b.status === "preview") {
        buttons.push(h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Open the preview of ${name}`, onClick: () => openPreview(b) }, "Open"));
        buttons.push(h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Discard the preview of ${name}`, onClick: () => remove(b, "Preview discarded") }, "Discard"));
      } else if (b.status === "failed" || b.status === "undone") {
        buttons.push(h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Remove ${name} from the list`, onClick: () => remove(b, "Removed from the list") }, "Remove"));
      }
      return h("div", { class: "flex justify-end gap-1" }, buttons);
    }

    async function openPreview(b) {
      replace(previewArea, loading("Loading the preview…"));
      try {
        batch = await api(importPath(b.id), { signal: ctx.signal });
        if (batch.status !== "preview") {
          batch = null;
          history.load();
          replace(previewArea, emptyState({ title: "That preview is no longer open", body: "It was imported or discarded meanwhile." }));
          return;
        }
        drawPreview();
        previewArea.querySelector("h2")?.setAttribute("tabindex", "-1");
        previewArea.querySelector("h2")?.focus();
      } catch (error) {
        if (error.name !== "AbortError") replace(previewArea, errorState(error, { compact: true }));
      }
    }

    async function remove(b, message) {
      try {
        await api(importPath(b.id), { method: "DELETE" });
        if (batch?.id === b.id) {
          batch = null;
          replace(previewArea, emptyState({ title: "Preview discarded", body: "Nothing was stored. Choose a file to start again." }));
        }
        toast(message);
      } catch (error) {
        toast(error.message, { error: true });
      }
      history.load();
    }

    async function undo(b) {
      const ok = await confirmDialog({
        title: "Undo this import?",
        message: `The ${plural(b.expense_count, "expense")} and ${b.income_count} income it stored will be deleted, including any you have edited since. This cannot be undone.`,
        confirmLabel: "Undo the import",
        danger: true,
      });
      if (!ok) return;
      try {
        const response = await api(importPath(b.id), { method: "DELETE", as: "response" });
        let counts = await response.json();
        if (response.status === 202) {
          toast("Undoing the import… it carries on if you leave this page.");
          history.load();
          const done = await waitForBatch(importPath(b.id), { done: ["undone", "failed"], signal: ctx.signal });
          if (done?.status === "failed") throw new Error(done.error || "The undo failed; nothing was deleted.");
          counts = { expenses: b.expense_count, incomes: b.income_count };
        }
        emit("records:changed", { kind: "import", id: b.id, deleted: true });
        toast(`Import undone: ${plural(counts.expenses, "expense")} and ${counts.incomes} income removed`);
      } catch (error) {
        if (error.name === "AbortError") return;
        toast(error.message, { error: true });
      }
      history.load();
    }

    // --- saved mappings ---------------------------------------------------------------
    const profiles = pagedList({
      path: () => profilePath(),
      pageSize: 10,
      noun: "mappings",
      signal: ctx.signal,
      empty: () => emptyState({ title: "No saved mappings", body: "After previewing a CSV or Excel file, “Save this mapping” remembers its columns; files with the same header then use it by themselves." }),
      draw: (rows) =>
        h(
          "ul",
          { class: "divide-y divide-slate-200 dark:divide-slate-800", "aria-label": "Saved mappings" },
          rows.map((p) =>
            h(
              "li",
              { class: "flex items-start justify-between gap-3 py-3" },
              h(
                "div",
                { class: "min-w-0" },
                h("p", { class: "font-medium" }, p.name),
                h("p", { class: "muted text-sm break-words" }, describeOptions(p.options)),
                p.header?.length ? h("p", { class: "muted text-xs break-words" }, `Used by itself for files whose header is: ${p.header.join(", ")}`) : null,
              ),
              h("button", { type: "button", class: "btn btn-secondary btn-small shrink-0", "aria-label": `Delete the mapping ${p.name}`, onClick: () => deleteProfile(p) }, "Delete"),
            ),
          ),
        ),
    });

    async function refreshProfileOptions() {
      const select = form.elements.profile;
      const chosen = select.value;
      try {
        const page = await api(profilePath(), { query: { page_size: 100 }, signal: ctx.signal });
        replace(
          select,
          h("option", { value: "" }, "Automatic (match the file's header)"),
          page.results.map((p) => h("option", { value: String(p.id), selected: String(p.id) === chosen }, p.name)),
        );
      } catch {
        // The list below says what went wrong.
      }
    }

    function saveMapping(source) {
      const dialogFormId = uid("profile-form");
      const dialogForm = h(
        "form",
        { id: dialogFormId, class: "grid gap-4" },
        formAlert(),
        field({ name: "name", label: "Name", required: true, maxlength: "100", autocomplete: "off", value: source.filename ? source.filename.replace(/\.[^.]+$/, "") : "", hint: "E.g. the bank and account." }),
        h("p", { class: "muted text-sm" }, "Saves this preview's columns and options. Files with the same header row then use them by themselves."),
      );
      const dialog = openDialog({
        title: "Save this mapping",
        body: dialogForm,
        footer: [
          h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
          h("button", { type: "submit", form: dialogFormId, class: "btn btn-primary" }, "Save mapping"),
        ],
      });
      onSubmit(
        dialogForm,
        (data) => api(profilePath(), { method: "POST", body: { name: data.name, from_batch: source.id } }),
        async (saved) => {
          dialog.close();
          toast(`Mapping “${saved.name}” saved`);
          await Promise.all([profiles.load(), refreshProfileOptions()]);
        },
      );
    }

    async function deleteProfile(p) {
      const ok = await confirmDialog({
        title: "Delete this mapping?",
        message: `“${p.name}” will no longer be offered or picked for matching files. Imports made with it stay as they are.`,
        confirmLabel: "Delete",
        danger: true,
      });
      if (!ok) return;
      try {
        await api(profilePath(p.id), { method: "DELETE" });
        toast(`Mapping “${p.name}” deleted`);
      } catch (error) {
        toast(error.message, { error: true });
      }
      await Promise.all([profiles.load(), refreshProfileOptions()]);
    }

    await Promise.all([history.load(), profiles.load(), refreshProfileOptions()]);
    return h(
      "div",
      {},
      pageHeader("Import", { subtitle: "Bring in a bank or card statement. You check every row before anything is stored." }),
      h("section", { class: "card", "aria-labelledby": "import-upload-title" }, h("h2", { id: "import-upload-title", class: "card-title" }, "Upload a statement"), form),
      h("section", { class: "card mt-6", "aria-label": "Preview", dataset: { preview: "" } }, previewStatus, previewArea),
      h(
        "div",
        { class: "mt-6 grid gap-6 lg:grid-cols-3" },
        h("section", { class: "card lg:col-span-2", "aria-labelledby": "import-history-title" }, h("h2", { id: "import-history-title", class: "card-title" }, "Import history"), history.el),
        h("section", { class: "card", "aria-labelledby": "import-profiles-title" }, h("h2", { id: "import-profiles-title", class: "card-title" }, "Saved mappings"), profiles.el),
      ),
    );
  },
});

function plural(n, word) {
  return `${Number(n).toLocaleString()} ${n === 1 ? word : `${word}s`}`;
}

function summary(b) {
  const items = [
    ["Rows", b.total_rows],
    ["New", b.new_rows],
    ["Already imported", b.duplicate_rows],
    ["Possible duplicates", b.possible_duplicate_rows],
    ["Unreadable", (b.errors || []).length],
  ];
  return h(
    "dl",
    { class: "grid grid-cols-2 gap-3 sm:grid-cols-5", dataset: { summary: "" } },
    items.map(([label, value]) =>
      h("div", { class: "rounded-lg bg-slate-100 px-3 py-2 dark:bg-slate-800" }, h("dt", { class: "muted text-xs" }, label), h("dd", { class: "text-lg font-semibold tabular-nums" }, Number(value).toLocaleString())),
    ),
  );
}

function errorList(errors) {
  const shown = errors.slice(0, 100);
  return h(
    "details",
    { class: "alert mt-4", open: errors.length <= 5 },
    h("summary", { class: "cursor-pointer font-semibold" }, `${plural(errors.length, "row")} could not be read`),
    h(
      "ul",
      { class: "mt-2 list-disc pl-5" },
      shown.map((e) => h("li", {}, `Line ${e.line}: ${e.message}`)),
      errors.length > shown.length ? h("li", {}, `…and ${errors.length - shown.length} more.`) : null,
    ),
  );
}

/** The preview's rows, ROWS_PER_PAGE at a time, with "Import anyway" on possible duplicates. */
function previewTable(b, keep, onKeep) {
  if (!b.rows.length) return emptyState({ title: "No readable rows", body: "None of the file's rows could be read. Check the column mapping and options above." });
  const table = dataTable({
    caption: "Rows of the statement",
    rowClass: (row) => (row.duplicate ? "opacity-70" : null),
    columns: [
      { label: "Line", class: "hidden sm:table-cell", numeric: true, cell: (row) => String(row.line) },
      { label: "Date", class: "hidden sm:table-cell", cell: (row) => h("time", { datetime: row.date, class: "whitespace-nowrap" }, date(row.date)) },
      {
        label: "Description",
        cell: (row) =>
          h(
            "div",
            { class: "min-w-0" },
            h("p", { class: "muted text-xs sm:hidden" }, h("time", { datetime: row.date }, date(row.date))),
            h("p", { class: "font-medium break-words" }, row.description),
            row.merchant ? h("p", { class: "muted text-xs" }, row.merchant) : null,
            row.suggested_category_name ? h("p", { class: "muted text-xs md:hidden" }, `Category: ${row.suggested_category_name}`) : null,
          ),
      },
      {
        label: "Category",
        class: "hidden md:table-cell",
        cell: (row) =>
          row.suggested_category_name
            ? h("div", {}, h("p", {}, row.suggested_category_name), h("p", { class: "muted text-xs" }, row.suggestion_source === "rules" ? "From your rules" : "Suggested"))
            : h("span", { class: "muted" }, "None"),
      },
      {
        label: "Amount",
        numeric: true,
        cell: (row) => h("span", { class: row.kind === "income" ? "amount-in whitespace-nowrap" : "whitespace-nowrap" }, row.kind === "income" ? `+${money(row.amount, row.currency)}` : `−${money(row.amount, row.currency)}`),
      },
      { label: "Status", cell: (row) => rowStatus(row, keep, onKeep) },
    ],
  });
  let shown = 0;
  const more = h("button", { type: "button", class: "btn btn-secondary btn-small mt-3" }, "Show more rows");
  const count = h("p", { class: "muted mt-2 text-sm", "aria-live": "polite" });
  function page() {
    const next = b.rows.slice(shown, shown + ROWS_PER_PAGE);
    table.add(next);
    shown += next.length;
    more.hidden = shown >= b.rows.length;
    count.textContent = b.rows.length > ROWS_PER_PAGE ? `Showing ${shown.toLocaleString()} of ${b.rows.length.toLocaleString()} rows.` : "";
  }
  more.addEventListener("click", page);
  page();
  return h("div", {}, table.el, count, more);
}

function rowStatus(row, keep, onKeep) {
  if (row.duplicate) return h("span", { class: "badge bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200" }, "Already imported");
  if (row.possible_duplicate) {
    const id = uid("keep");
    return h(
      "div",
      { class: "grid gap-1" },
      h("span", { class: "badge badge-warn" }, "Possible duplicate"),
      h(
        "div",
        { class: "flex items-center gap-2" },
        h("input", {
          type: "checkbox",
          id,
          class: "size-4",
          "aria-label": `Import line ${row.line} anyway`,
          onChange: (event) => {
            if (event.target.checked) keep.add(row.line);
            else keep.delete(row.line);
            onKeep();
          },
        }),
        h("label", { for: id, class: "text-xs whitespace-nowrap" }, "Import anyway"),
      ),
    );
  }
  return h("span", { class: "badge badge-ok" }, "New");
}

function describeOptions(options = {}) {
  const columns = options.columns || {};
  const parts = Object.entries(columns).map(([role, col]) => `${(ROLES.find((r) => r.name === role)?.label || role).toLowerCase()}: ${typeof col === "number" ? `column ${col + 1}` : [col].flat().join(" + ")}`);
  if (options.delimiter) parts.push(`separator “${options.delimiter === "\t" ? "tab" : options.delimiter}”`);
  if (options.date_format) parts.push(`dates ${options.date_format}`);
  if (options.decimal_separator) parts.push(`decimal “${options.decimal_separator}”`);
  if (options.negate) parts.push("signs flipped");
  return parts.length ? parts.join(" · ") : "Columns found by their headers.";
}

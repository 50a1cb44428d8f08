// Bank connections over SimpleFIN (SPEC §17): paste a setup token to connect, map each
// account to a book, sync now (then poll until the sync is idle), see what the last sync
// did or why it failed and what to do about it, rename, reconnect, delete.

import { all, api } from "../api.js";
import { h, ICONS, icon, replace } from "../dom.js";
import { ago, money } from "../format.js";
import { route } from "../router.js";
import { emit } from "../store.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import { accountTabs, pill } from "../ui/settings_tabs.js";
import { emptyState, errorState, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

const PAGE_SIZE = 20;
const POLL_MS = 1000;
const SYNCING = new Set(["queued", "running"]);

/** What to do about a stored error, by its code (the API's message says what happened). */
const REMEDIES = {
  access_revoked: "Make a new setup token in your SimpleFIN Bridge account and use Reconnect.",
  bridge_payment_required: "Your SimpleFIN Bridge subscription needs attention: renew it there, then sync again.",
  bank_error: "Your bank reported a problem to SimpleFIN. Check the connection in your SimpleFIN Bridge account, then sync again.",
  bridge_timeout: "The bridge was slow to answer. Sync again in a few minutes.",
  bridge_unreachable: "The bridge could not be reached. Sync again in a few minutes.",
  bridge_error: "The bridge answered with an error. Sync again later; if it keeps failing, reconnect.",
  bridge_invalid_response: "The bridge answered with something unexpected. Sync again later; if it keeps failing, reconnect.",
  unsafe_url: "This server may not call the bridge's address. Ask whoever runs it.",
  internal_error: "Something went wrong on this server. Sync again; if it keeps failing, tell whoever runs it.",
};

const STATUS = {
  active: ["Active", "ok"],
  error: ["Last sync failed", "exceeded"],
  revoked: ["Access revoked", "exceeded"],
};

route({
  path: "/connections",
  title: "Bank connections",
  render: async (ctx) => {
    const [first, books] = await Promise.all([
      api("/connections/", { query: { page_size: PAGE_SIZE }, signal: ctx.signal }),
      all("/books/"),
    ]);
    const writable = books.filter((b) => b.role === "owner" || b.role === "editor");
    const list = h("div", { class: "space-y-6" });
    const more = h("button", { type: "button", class: "btn btn-secondary", hidden: true }, "Load more");
    let next = null;

    const add = h(
      "button",
      { type: "button", class: "btn btn-primary", onClick: () => connectDialog({ onDone: () => ctx.reload() }) },
      icon(ICONS.plus, "size-4"),
      "Connect a bank",
    );

    function addPage(page) {
      for (const connection of page.results) list.append(connectionCard(connection, { books: writable, ctx }));
      next = page.next;
      more.hidden = !next;
    }
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        addPage(await api(next, { signal: ctx.signal }));
      } catch (error) {
        if (error.name !== "AbortError") toast(error.message, { error: true });
      } finally {
        more.disabled = false;
      }
    });

    const content = first.results.length
      ? [list, h("div", { class: "mt-4 flex justify-center" }, more)]
      : emptyState({
          title: "No bank connected yet",
          body: "Connect your bank through SimpleFIN Bridge: create a setup token there, paste it here, then choose which book each account's transactions go to.",
          action: h("button", { type: "button", class: "btn btn-primary", onClick: () => connectDialog({ onDone: () => ctx.reload() }) }, "Connect a bank"),
        });
    if (first.results.length) addPage(first);
    return h(
      "div",
      {},
      pageHeader("Bank connections", { subtitle: "Transactions from your bank, imported on a schedule or when you sync.", actions: first.results.length ? [add] : [] }),
      accountTabs("/connections"),
      content,
    );
  },
});

function connectDialog({ connection = null, onDone }) {
  const formId = "connection-form";
  const reconnect = Boolean(connection);
  const form = h(
    "form",
    { id: formId, class: "space-y-4" },
    h(
      "p",
      { class: "text-sm" },
      "In your SimpleFIN Bridge account, create a new setup token and copy it. It works once: only the access it unlocks is kept here, encrypted, and never shown again.",
    ),
    formAlert(),
    field({
      name: "setup_token",
      label: "Setup token",
      type: "textarea",
      rows: 3,
      required: true,
      autocomplete: "off",
      spellcheck: "false",
      class: "font-mono",
    }),
    reconnect ? null : field({ name: "name", label: "Name", hint: "Optional, e.g. “Household bank”. Default: SimpleFIN and the bridge’s address.", autocomplete: "off" }),
  );
  const submit = h("button", { type: "submit", form: formId, class: "btn btn-primary" }, reconnect ? "Reconnect" : "Connect");
  const dialog = openDialog({
    title: reconnect ? `Reconnect ${connection.name}` : "Connect a bank",
    body: form,
    footer: [h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"), submit],
  });
  onSubmit(form, async (data) => {
    submit.textContent = reconnect ? "Reconnecting…" : "Connecting…";
    try {
      const body = { setup_token: data.setup_token };
      if (reconnect) return await api(`/connections/${connection.id}/`, { method: "PATCH", body });
      if (data.name) body.name = data.name;
      return await api("/connections/", { method: "POST", body: { kind: "simplefin", ...body } });
    } finally {
      submit.textContent = reconnect ? "Reconnect" : "Connect";
    }
  }, (saved) => {
    dialog.close();
    toast(reconnect ? `${saved.name} is reconnected.` : `${saved.name} is connected. Choose a book for each account to import it.`);
    onDone?.(saved);
  });
}

function connectionCard(initial, { books, ctx }) {
  let connection = initial;
  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));
  const headingId = `connection-${connection.id}`;
  const card = h("section", { class: "card", "aria-labelledby": headingId, dataset: { connection: String(connection.id) } });
  const live = h("div", { role: "status", "aria-live": "polite" });

  function draw() {
    const syncing = SYNCING.has(connection.sync_state);
    const [statusLabel, tone] = STATUS[connection.status] || [connection.status, "neutral"];
    const syncButton = h(
      "button",
      { type: "button", class: "btn btn-primary btn-small", disabled: syncing, onClick: () => syncNow() },
      syncing ? "Syncing…" : "Sync now",
    );
    replace(
      card,
      h(
        "div",
        { class: "mb-4 flex flex-wrap items-start justify-between gap-3" },
        h(
          "div",
          { class: "min-w-0" },
          h("h2", { id: headingId, class: "card-title mb-1 break-words" }, connection.name),
          h(
            "p",
            { class: "muted flex flex-wrap items-center gap-2 text-sm" },
            pill(statusLabel, tone),
            syncing ? pill(connection.sync_state === "queued" ? "Sync queued" : "Syncing", "warn") : null,
            connection.last_success_at ? h("span", {}, "Last synced ", h("time", { datetime: connection.last_success_at }, ago(connection.last_success_at))) : h("span", {}, "Never synced"),
          ),
        ),
        h(
          "div",
          { class: "flex flex-wrap gap-2" },
          syncButton,
          connection.status !== "active"
            ? h("button", { type: "button", class: "btn btn-secondary btn-small", onClick: () => connectDialog({ connection, onDone: refresh }) }, "Reconnect")
            : null,
          h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Rename ${connection.name}`, onClick: rename }, "Rename"),
          h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Delete ${connection.name}`, onClick: remove }, "Delete"),
        ),
      ),
      live,
      connection.last_error ? problem(connection.last_error, connection.last_error_code) : null,
      summary(connection.last_sync),
      accounts(),
    );
  }

  function problem(message, code) {
    return h(
      "div",
      { class: "alert mb-4", role: "alert" },
      h("p", { class: "font-semibold" }, message),
      REMEDIES[code] ? h("p", { class: "mt-1" }, REMEDIES[code]) : null,
    );
  }

  function summary(last) {
    if (!last) return null;
    const parts = [
      `${last.expenses} expense${last.expenses === 1 ? "" : "s"}`,
      `${last.incomes} income${last.incomes === 1 ? "" : "s"}`,
      last.duplicates ? `${last.duplicates} already imported` : null,
      last.possible_duplicates ? `${last.possible_duplicates} skipped as possible duplicates` : null,
      last.pending ? `${last.pending} pending` : null,
      last.rejected ? `${last.rejected} rejected` : null,
    ].filter(Boolean);
    return h(
      "div",
      { class: "mb-4 text-sm", dataset: { lastSync: "" } },
      h("p", {}, h("span", { class: "font-medium" }, "Last sync: "), `${parts.join(", ")} from ${last.accounts} account${last.accounts === 1 ? "" : "s"}.`),
      last.imports?.length
        ? h("p", { class: "muted mt-1" }, "Each sync is an import batch: it can be undone from the import history.")
        : null,
      last.errors?.length
        ? h("ul", { class: "alert mt-2 list-disc pl-8" }, last.errors.map((e) => h("li", {}, e.transaction ? `${e.transaction}: ${e.message}` : e.message)))
        : null,
    );
  }

  function accounts() {
    if (!connection.accounts.length) {
      return emptyState({
        title: "No accounts listed yet",
        body: "The bridge has not listed any account. Sync now to ask again.",
      });
    }
    const options = [{ value: "", label: "Not imported" }, ...books.map((b) => ({ value: String(b.id), label: b.kind === "personal" ? `${b.name} (personal)` : b.name }))];
    const table = dataTable({
      caption: `Accounts of ${connection.name}`,
      columns: [
        {
          label: "Account",
          cell: (a) =>
            h(
              "div",
              { class: "min-w-0" },
              h("p", { class: "font-medium" }, a.name),
              h("p", { class: "muted text-xs" }, [a.org_name, a.listed ? null : "no longer listed by the bridge"].filter(Boolean).join(" · ")),
              a.last_error ? h("p", { class: "field-error" }, a.last_error) : null,
            ),
        },
        {
          label: "Balance",
          numeric: true,
          cell: (a) => h("span", { class: "whitespace-nowrap" }, a.balance === null ? "—" : money(a.balance, /^[A-Z]{3}$/.test(a.currency) ? a.currency : "XXX")),
        },
        {
          label: "Import into",
          cell: (a) => {
            const select = h(
              "select",
              { class: "input min-w-40", "aria-label": `Book for ${a.name}`, disabled: !/^[A-Z]{3}$/.test(a.currency) },
              options.map((o) => h("option", { value: o.value, selected: String(a.book ?? "") === o.value }, o.label)),
            );
            select.addEventListener("change", () => mapAccount(a, select));
            return select;
          },
        },
      ],
      rows: connection.accounts,
    });
    return h("div", {}, table.el, h("p", { class: "hint" }, "A newly mapped account imports its recent history at the next sync. “Not imported” stops importing; what was imported stays."));
  }

  async function mapAccount(account, select) {
    select.disabled = true;
    try {
      const saved = await api(`/connections/${connection.id}/accounts/${account.id}/`, {
        method: "PATCH",
        body: { book: select.value ? Number(select.value) : null },
      });
      connection = { ...connection, accounts: connection.accounts.map((a) => (a.id === saved.id ? saved : a)) };
      replace(live, h("p", { class: "muted text-sm" }, saved.book ? `${saved.name} now imports into ${select.selectedOptions[0].textContent}. Sync now to fetch it.` : `${saved.name} is no longer imported.`));
    } catch (error) {
      select.value = String(account.book ?? "");
      replace(live, h("p", { class: "alert", role: "alert" }, error.message));
    } finally {
      select.disabled = false;
    }
  }

  async function refresh() {
    connection = await api(`/connections/${connection.id}/`, { signal: ctx.signal });
    draw();
  }

  async function syncNow() {
    try {
      connection = await api(`/connections/${connection.id}/sync/`, { method: "POST" });
    } catch (error) {
      if (error.code === "sync_in_progress") {
        await refresh();
        poll();
        return;
      }
      replace(live, h("p", { class: "alert mb-4", role: "alert" }, error.message));
      return;
    }
    draw();
    replace(live, h("p", { class: "muted mb-4 text-sm" }, "Sync started…"));
    poll();
  }

  function poll() {
    clearTimeout(timer);
    if (!SYNCING.has(connection.sync_state)) {
      finished();
      return;
    }
    timer = setTimeout(async () => {
      try {
        await refresh();
        poll();
      } catch (error) {
        if (error.name !== "AbortError") replace(live, errorState(error, { retry: poll, compact: true }));
      }
    }, POLL_MS);
  }

  function finished() {
    if (connection.last_error) {
      replace(live, h("p", { class: "sr-only" }, "The sync failed."));
    } else {
      replace(live, h("p", { class: "mb-4 text-sm font-medium text-emerald-700 dark:text-emerald-300" }, "Sync finished."));
      emit("records:changed");
    }
  }

  function rename() {
    const formId = `rename-connection-${connection.id}`;
    const form = h("form", { id: formId, class: "space-y-4" }, formAlert(), field({ name: "name", label: "Name", value: connection.name, required: true, autocomplete: "off" }));
    const dialog = openDialog({
      title: "Rename the connection",
      body: form,
      footer: [
        h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Save"),
      ],
    });
    onSubmit(form, (data) => api(`/connections/${connection.id}/`, { method: "PATCH", body: { name: data.name } }), (saved) => {
      connection = saved;
      dialog.close();
      draw();
      toast("Connection renamed.");
    });
  }

  async function remove() {
    const sure = await confirmDialog({
      title: `Delete ${connection.name}?`,
      message: "The access to your bank and its account list are forgotten. What was already imported stays (a sync's batch can be undone from the import history).",
      confirmLabel: "Delete connection",
      danger: true,
    });
    if (!sure) return;
    try {
      await api(`/connections/${connection.id}/`, { method: "DELETE" });
      toast(`${connection.name} was deleted.`);
      ctx.reload();
    } catch (error) {
      toast(error.message, { error: true });
    }
  }

  draw();
  if (SYNCING.has(connection.sync_state)) poll();
  return card;
}

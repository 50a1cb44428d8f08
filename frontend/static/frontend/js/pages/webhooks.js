// Webhooks of a book (SPEC §17; owners only): add one (its signing secret is shown once,
// with a copy button), choose its events, send a test delivery, read the delivery log
// (status, HTTP code, duration) and replay from it, rotate the secret, pause, re-enable a
// hook the server disabled, delete.

import { all, api, book as currentBook } from "../api.js";
import { h, ICONS, icon, replace, uid } from "../dom.js";
import { ago } from "../format.js";
import { go, route } from "../router.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import { accountTabs, pill } from "../ui/settings_tabs.js";
import { emptyState, errorState, loading, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

const DELIVERIES_PAGE = 20;
const POLL_MS = 1500;
const POLLS = 40;

/** The events a hook can subscribe to, as the API lists them (`GET …/webhooks/events/`,
 * from core/events.py): fetched once per session. */
let eventList = null;
function webhookEvents(base) {
  eventList ??= api(`${base}events/`).catch((error) => {
    eventList = null;
    throw error;
  });
  return eventList;
}

const DELIVERY_STATUS = {
  pending: ["Pending", "warn"],
  sending: ["Sending", "warn"],
  succeeded: ["Succeeded", "ok"],
  failed: ["Failed", "exceeded"],
};

route({
  path: "/webhooks",
  title: "Webhooks",
  render: async (ctx) => {
    const books = (await all("/books/")).filter((b) => b.role === "owner");
    if (!books.length) {
      return h(
        "div",
        {},
        pageHeader("Webhooks"),
        accountTabs("/webhooks"),
        emptyState({ title: "No book you own", body: "Webhooks belong to a book and only its owners manage them. Ask an owner of a shared book to add one." }),
      );
    }
    // The book chosen here, else the one the app shows (the shell's book switcher).
    const wanted = ctx.params.get("book") || String(currentBook() || "");
    const book = books.find((b) => String(b.id) === wanted) || books.find((b) => b.kind === "personal") || books[0];
    const base = `/books/${book.id}/webhooks/`;
    const first = await api(base, { query: { page_size: 20 }, signal: ctx.signal });

    const list = h("div", { class: "space-y-6" });
    const more = h("button", { type: "button", class: "btn btn-secondary", hidden: true }, "Load more");
    let next = null;
    function addPage(page) {
      for (const hook of page.results) list.append(hookCard(hook, { base, ctx }));
      next = page.next;
      more.hidden = !next;
    }
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        addPage(await api(next, { signal: ctx.signal }));
      } finally {
        more.disabled = false;
      }
    });
    const add = () => editDialog({ base, onDone: () => ctx.reload() });

    const bookPicker =
      books.length > 1
        ? h(
            "div",
            { class: "mb-4 max-w-xs" },
            field({
              name: "book",
              label: "Book",
              type: "select",
              value: String(book.id),
              options: books.map((b) => ({ value: String(b.id), label: b.kind === "personal" ? `${b.name} (personal)` : b.name })),
              onChange: (event) => go("/webhooks", { book: event.target.value }),
            }),
          )
        : null;

    if (first.results.length) addPage(first);
    return h(
      "div",
      {},
      pageHeader("Webhooks", {
        subtitle: `Signed HTTP calls to your own services when something changes in ${book.name}.`,
        actions: first.results.length ? [h("button", { type: "button", class: "btn btn-primary", onClick: add }, icon(ICONS.plus, "size-4"), "Add webhook")] : [],
      }),
      accountTabs("/webhooks"),
      bookPicker,
      first.results.length
        ? [list, h("div", { class: "mt-4 flex justify-center" }, more)]
        : emptyState({
            title: "No webhooks yet",
            body: "A webhook POSTs a signed JSON message to a URL of yours when expenses, income, budgets or imports change in this book.",
            action: h("button", { type: "button", class: "btn btn-primary", onClick: add }, "Add a webhook"),
          }),
    );
  },
});

/** The add/edit dialog: URL, description, the events checklist. */
async function editDialog({ base, hook = null, onDone }) {
  let eventRows;
  try {
    eventRows = await webhookEvents(base);
  } catch (error) {
    toast(`The list of events did not load: ${error.message}`, { error: true });
    return;
  }
  const formId = uid("webhook-form");
  const chosen = new Set(hook ? hook.events : []);
  const errorId = uid("events-error");
  const events = h(
    "fieldset",
    { class: "space-y-2", dataset: { field: "events" }, "aria-describedby": errorId },
    h("legend", { class: "label" }, "Events", h("span", { class: "muted font-normal" }, " (at least one)")),
    h(
      "div",
      { class: "grid gap-2 sm:grid-cols-2" },
      eventRows.map(({ name, description }) => {
        const id = uid("event");
        return h(
          "div",
          { class: "flex items-start gap-2" },
          h("input", { type: "checkbox", id, class: "mt-0.5 size-4 rounded border-slate-400", name: `event:${name}`, checked: chosen.has(name), "aria-describedby": `${id}-hint` }),
          h("label", { for: id, class: "text-sm" }, h("span", { class: "font-mono font-medium" }, name), h("span", { id: `${id}-hint`, class: "muted block text-xs" }, description)),
        );
      }),
    ),
    h("p", { id: errorId, class: "field-error", hidden: true }),
  );
  const form = h(
    "form",
    { id: formId, class: "space-y-4" },
    formAlert(),
    field({ name: "url", label: "URL", type: "url", value: hook?.url, required: true, placeholder: "https://hooks.example.com/budget", autocomplete: "off", hint: "Deliveries are POSTed here. It must be reachable from this server on a public address." }),
    field({ name: "description", label: "Description", value: hook?.description, hint: "Optional: what listens there.", autocomplete: "off" }),
    events,
  );
  const dialog = openDialog({
    title: hook ? "Edit webhook" : "Add a webhook",
    body: form,
    footer: [
      h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", form: formId, class: "btn btn-primary" }, hook ? "Save" : "Add webhook"),
    ],
  });
  onSubmit(
    form,
    (data) => {
      const body = {
        url: data.url,
        description: data.description,
        events: eventRows.map(({ name }) => name).filter((name) => data[`event:${name}`]),
      };
      return hook ? api(`${base}${hook.id}/`, { method: "PATCH", body }) : api(base, { method: "POST", body });
    },
    (saved) => {
      dialog.close();
      if (hook) {
        toast("Webhook saved.");
        onDone?.(saved);
      } else {
        secretDialog(saved, { created: true, onClose: () => onDone?.(saved) });
      }
    },
  );
}

/** Shows a signing secret, the one time the API returns it, with a copy button. */
function secretDialog(hook, { created = false, onClose } = {}) {
  const inputId = uid("secret");
  const copied = h("p", { class: "hint", role: "status", "aria-live": "polite" });
  const input = h("input", { id: inputId, class: "input font-mono", readonly: true, value: hook.secret, spellcheck: "false" });
  const copy = h(
    "button",
    {
      type: "button",
      class: "btn btn-secondary",
      onClick: async () => {
        try {
          await navigator.clipboard.writeText(hook.secret);
        } catch {
          input.select();
          document.execCommand("copy");
        }
        copied.textContent = "Copied to the clipboard.";
      },
    },
    "Copy",
  );
  const dialog = openDialog({
    title: created ? "Webhook added: store its secret" : "New signing secret",
    body: h(
      "div",
      { class: "space-y-3" },
      h(
        "p",
        { class: "text-sm" },
        "Your receiver checks each delivery's X-Signature header with this secret. It is shown only now: copy it to where your receiver reads it.",
      ),
      h("label", { for: inputId, class: "label" }, "Signing secret"),
      h("div", { class: "flex gap-2" }, input, copy),
      copied,
      created ? null : h("p", { class: "muted text-sm" }, "Deliveries are signed with both the new and the old secret until the old one expires, so you can switch without missing any."),
    ),
    footer: [h("button", { type: "button", class: "btn btn-primary", onClick: () => dialog.close() }, "I have stored it")],
    initialFocus: "button.btn-secondary",
    onClose,
  });
  input.addEventListener("focus", () => input.select());
  return dialog;
}

function hookCard(initial, { base, ctx }) {
  let hook = initial;
  const path = () => `${base}${hook.id}/`;
  const headingId = uid("hook");
  const panelId = uid("deliveries");
  const card = h("section", { class: "card", "aria-labelledby": headingId, dataset: { webhook: String(hook.id) } });
  const panel = h("div", { id: panelId, class: "mt-4 border-t border-slate-200 pt-4 dark:border-slate-800", hidden: true });
  const live = h("div", { role: "status", "aria-live": "polite" });
  let log = null;

  function state() {
    if (!hook.is_active) return pill("Disabled", "exceeded");
    if (hook.failing_since) return pill(`Failing (${hook.consecutive_failures})`, "warn");
    return pill("Active", "ok");
  }

  function draw() {
    const open = !panel.hidden;
    const toggle = h(
      "button",
      { type: "button", class: "btn btn-secondary btn-small", "aria-expanded": String(open), "aria-controls": panelId, onClick: () => showLog(panel.hidden) },
      open ? "Hide deliveries" : "Deliveries",
    );
    replace(
      card,
      h(
        "div",
        { class: "flex flex-wrap items-start justify-between gap-3" },
        h(
          "div",
          { class: "min-w-0" },
          h("h2", { id: headingId, class: "card-title mb-1 font-mono text-sm break-all" }, hook.url),
          hook.description ? h("p", { class: "text-sm" }, hook.description) : null,
          h(
            "p",
            { class: "muted mt-1 flex flex-wrap items-center gap-2 text-xs" },
            state(),
            h("span", {}, `Secret ends in …${hook.secret_hint.replace(/^…/, "")}`),
            hook.last_success_at ? h("span", {}, "Last success ", h("time", { datetime: hook.last_success_at }, ago(hook.last_success_at))) : h("span", {}, "No successful delivery yet"),
          ),
        ),
        h(
          "div",
          { class: "flex flex-wrap gap-2" },
          hook.is_active ? h("button", { type: "button", class: "btn btn-primary btn-small", onClick: ping }, "Send test") : null,
          toggle,
          h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Edit ${hook.url}`, onClick: edit }, "Edit"),
          h("button", { type: "button", class: "btn btn-secondary btn-small", onClick: rotate }, "Rotate secret"),
          hook.is_active
            ? h("button", { type: "button", class: "btn btn-ghost btn-small", onClick: () => setActive(false) }, "Disable")
            : h("button", { type: "button", class: "btn btn-secondary btn-small", onClick: () => setActive(true) }, "Re-enable"),
          h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Delete ${hook.url}`, onClick: remove }, "Delete"),
        ),
      ),
      !hook.is_active
        ? h(
            "div",
            { class: "alert mt-3", role: "alert" },
            h("p", { class: "font-semibold" }, [hook.disabled_at ? `Disabled ${ago(hook.disabled_at)}.` : "Disabled.", hook.disabled_reason].filter(Boolean).join(" ")),
            h("p", { class: "mt-1" }, "Nothing is sent to it. If the receiver was failing, fix it first; then Re-enable (its failures are cleared) and Send test."),
          )
        : null,
      hook.previous_secret_expires_at
        ? h("p", { class: "muted mt-2 text-xs" }, "Also signed with the previous secret until ", h("time", { datetime: hook.previous_secret_expires_at }, ago(hook.previous_secret_expires_at)), ".")
        : null,
      h("p", { class: "mt-3 flex flex-wrap gap-1", "aria-label": "Events" }, hook.events.map((e) => h("span", { class: "badge bg-slate-100 font-mono text-slate-800 dark:bg-slate-800 dark:text-slate-100" }, e))),
      live,
      panel,
    );
  }

  async function reloadHook() {
    hook = await api(path(), { signal: ctx.signal });
    draw();
  }

  function showLog(open) {
    panel.hidden = !open;
    if (open) {
      log?.stop();
      log = deliveryLog({ path: path(), ctx, onChange: () => reloadHook().catch(() => {}) });
      replace(panel, log.el);
    } else {
      log?.stop();
      log = null;
    }
    draw();
  }

  async function ping() {
    try {
      const delivery = await api(`${path()}ping/`, { method: "POST" });
      const [label] = DELIVERY_STATUS[delivery.status] || [delivery.status];
      replace(live, h("p", { class: "mt-3 text-sm" }, `Test delivery queued: ${label.toLowerCase()}. See it in the log below.`));
      showLog(true);
    } catch (error) {
      replace(live, h("p", { class: "alert mt-3", role: "alert" }, error.message));
    }
  }

  function edit() {
    editDialog({ base, hook, onDone: (saved) => ((hook = saved), draw()) });
  }

  async function rotate() {
    const sure = await confirmDialog({
      title: "Rotate the signing secret?",
      message: "A new secret is made and shown once. The old one keeps signing deliveries for a grace period, so your receiver can switch.",
      confirmLabel: "Rotate secret",
    });
    if (!sure) return;
    try {
      const rotated = await api(`${path()}rotate-secret/`, { method: "POST" });
      const { secret, ...rest } = rotated;
      hook = rest;
      draw();
      secretDialog({ ...rest, secret });
    } catch (error) {
      toast(error.message, { error: true });
    }
  }

  async function setActive(active) {
    try {
      hook = await api(path(), { method: "PATCH", body: { is_active: active } });
      draw();
      toast(active ? "Webhook re-enabled. Send a test to check it." : "Webhook disabled: nothing is sent until you re-enable it.");
    } catch (error) {
      toast(error.message, { error: true });
    }
  }

  async function remove() {
    const sure = await confirmDialog({
      title: "Delete this webhook?",
      message: `Nothing more is sent to ${hook.url}, and its delivery log is deleted.`,
      confirmLabel: "Delete webhook",
      danger: true,
    });
    if (!sure) return;
    try {
      await api(path(), { method: "DELETE" });
      toast("Webhook deleted.");
      ctx.reload();
    } catch (error) {
      toast(error.message, { error: true });
    }
  }

  ctx.onLeave(() => log?.stop());
  draw();
  return card;
}

/** The delivery log of one hook, newest first, a page at a time, with a status filter and
 * replay; while a delivery is pending or sending it is re-read until it finishes. */
function deliveryLog({ path, ctx, onChange }) {
  const results = h("div", {}, loading("Loading deliveries…"));
  const more = h("button", { type: "button", class: "btn btn-secondary btn-small", hidden: true }, "Load more");
  const filterId = uid("delivery-status");
  const filter = h(
    "select",
    { id: filterId, class: "input w-auto" },
    h("option", { value: "" }, "Any status"),
    Object.entries(DELIVERY_STATUS).map(([value, [label]]) => h("option", { value }, label)),
  );
  let next = null;
  let timer = null;
  let polls = 0;
  let table = null;

  const columns = [
    { label: "Event", cell: (d) => h("span", { class: "font-mono text-xs" }, d.event, d.replay_of ? h("span", { class: "muted block" }, "replay") : null) },
    {
      label: "Status",
      cell: (d) => {
        const [label, tone] = DELIVERY_STATUS[d.status] || [d.status, "neutral"];
        return h("div", {}, pill(label, tone), d.last_error ? h("p", { class: "muted mt-1 max-w-xs text-xs break-words" }, d.last_error) : null);
      },
    },
    { label: "HTTP", numeric: true, cell: (d) => (d.last_status_code === null ? "—" : String(d.last_status_code)) },
    { label: "Duration", numeric: true, class: "hidden sm:table-cell", cell: (d) => (d.last_duration_ms === null ? "—" : `${d.last_duration_ms} ms`) },
    { label: "Attempts", numeric: true, class: "hidden md:table-cell", cell: (d) => String(d.attempt_count) },
    { label: "When", cell: (d) => h("time", { datetime: d.created_at, class: "whitespace-nowrap text-xs" }, ago(d.created_at)) },
    {
      label: h("span", { class: "sr-only" }, "Actions"),
      class: "w-px",
      cell: (d) =>
        h(
          "button",
          {
            type: "button",
            class: "btn btn-secondary btn-small",
            "aria-label": `Replay ${d.event} delivery ${d.id}`,
            onClick: async (event) => {
              event.currentTarget.disabled = true;
              try {
                await api(`${path}deliveries/${d.id}/replay/`, { method: "POST" });
                toast("Replay queued.");
                load();
                onChange?.();
              } catch (error) {
                toast(error.message, { error: true });
                event.currentTarget.disabled = false;
              }
            },
          },
          "Replay",
        ),
    },
  ];

  async function load() {
    clearTimeout(timer);
    try {
      const page = await api(`${path}deliveries/`, { query: { page_size: DELIVERIES_PAGE, status: filter.value }, signal: ctx.signal });
      next = page.next;
      more.hidden = !next;
      if (!page.results.length) {
        table = null;
        replace(
          results,
          emptyState({
            title: filter.value ? "No delivery with that status" : "No deliveries yet",
            body: "Deliveries appear when a subscribed event happens. Send a test to try the hook now.",
          }),
        );
        return;
      }
      table = dataTable({ caption: "Deliveries, newest first", columns, rows: page.results });
      replace(results, table.el);
      const open = page.results.some((d) => d.status === "pending" || d.status === "sending");
      if (open && polls < POLLS) {
        polls += 1;
        timer = setTimeout(() => {
          load();
          onChange?.();
        }, POLL_MS);
      }
    } catch (error) {
      if (error.name !== "AbortError") replace(results, errorState(error, { retry: load, compact: true }));
    }
  }

  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await api(next, { signal: ctx.signal });
      table?.add(page.results);
      next = page.next;
      more.hidden = !next;
    } catch (error) {
      toast(error.message, { error: true });
    } finally {
      more.disabled = false;
    }
  });
  filter.addEventListener("change", () => {
    polls = 0;
    load();
  });
  load();
  return {
    el: h(
      "div",
      { class: "space-y-3" },
      h(
        "div",
        { class: "flex flex-wrap items-center justify-between gap-2" },
        h("h3", { class: "font-semibold" }, "Delivery log"),
        h(
          "div",
          { class: "flex items-center gap-2" },
          h("label", { for: filterId, class: "text-sm" }, "Status"),
          filter,
          h("button", { type: "button", class: "btn btn-ghost btn-small", onClick: () => load() }, "Refresh"),
        ),
      ),
      results,
      h("div", { class: "flex justify-center" }, more),
    ),
    stop: () => clearTimeout(timer),
  };
}

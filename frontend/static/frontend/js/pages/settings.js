// Your account (SPEC §4, §12): profile and base currency (a big book's currency change is
// queued: its status is shown and polled), budget month start day, timezone, notification
// preferences per kind and channel, password, and deleting the account.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { route } from "../router.js";
import * as session from "../session.js";
import { cached, clearCache, currencies, emit, invalidate } from "../store.js";
import { openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import { accountTabs, pill, section } from "../ui/settings_tabs.js";
import { errorState, pageHeader } from "../ui/states.js";
import { toast } from "../ui/toast.js";

const POLL_MS = 1500;
const PENDING = new Set(["queued", "running"]);

/** What each notification kind is, in the words of the preferences table. */
export const NOTIFICATION_KINDS = {
  budget_warn: { label: "Budget warning", hint: "A budget passed its warning threshold." },
  budget_exceeded: { label: "Budget exceeded", hint: "A budget went over its amount." },
  bill_due: { label: "Bill due", hint: "A recurring bill is coming up." },
  goal_achieved: { label: "Goal achieved", hint: "A savings goal reached its target." },
  unusual_spending: { label: "Unusual spending", hint: "An expense far from your usual pattern." },
  monthly_summary: { label: "Monthly summary", hint: "Last month in numbers, on the 1st." },
  connection_error: { label: "Bank connection error", hint: "A bank sync failed and needs you." },
  webhook_disabled: { label: "Webhook disabled", hint: "A webhook kept failing and was turned off." },
};

export function kindLabel(kind) {
  return NOTIFICATION_KINDS[kind]?.label || kind.replaceAll("_", " ");
}

function timezones(current) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    zones = [];
  }
  const all = new Set([...zones, "UTC", current].filter(Boolean));
  return [...all].sort().map((zone) => ({ value: zone, label: zone.replaceAll("_", " ") }));
}

route({
  path: "/settings",
  title: "Settings",
  nav: { label: "Settings", order: 90 },
  render: async (ctx) => {
    const [user, currencyList, prefs] = await Promise.all([
      api("/auth/me/", { signal: ctx.signal }),
      currencies(),
      api("/notifications/preferences/", { signal: ctx.signal }),
    ]);
    return h(
      "div",
      {},
      pageHeader("Settings", { subtitle: `Signed in as ${user.username}` }),
      accountTabs("/settings"),
      h(
        "div",
        { class: "grid gap-6 lg:grid-cols-2" },
        profileSection(user, currencyList, ctx),
        preferencesSection(prefs),
        passwordSection(),
        deleteSection(user),
      ),
    );
  },
});

function profileSection(user, currencyList, ctx) {
  const form = h("form", { id: "profile-form", class: "space-y-4" });
  const status = h("div", { role: "status", "aria-live": "polite", dataset: { currencyStatus: "" } });
  const fields = [
    formAlert(),
    field({ name: "email", label: "Email", type: "email", value: user.email, autocomplete: "email" }),
    h(
      "div",
      { class: "grid gap-4 sm:grid-cols-2" },
      field({ name: "first_name", label: "First name", value: user.first_name, autocomplete: "given-name" }),
      field({ name: "last_name", label: "Last name", value: user.last_name, autocomplete: "family-name" }),
    ),
    field({
      name: "base_currency",
      label: "Base currency",
      type: "select",
      value: user.base_currency,
      options: currencyList.map((c) => ({ value: c.code, label: `${c.code} · ${c.name}` })),
      hint: "Totals, budgets and goals of your personal book are in this currency. Changing it converts every stored figure.",
    }),
    status,
    h(
      "div",
      { class: "grid gap-4 sm:grid-cols-2" },
      field({
        name: "month_start_day",
        label: "Budget month starts on day",
        type: "number",
        value: user.month_start_day,
        min: 1,
        max: 28,
        inputmode: "numeric",
        hint: "1–28. Payday on the 25th? Start the month there.",
      }),
      field({
        name: "timezone",
        label: "Timezone",
        type: "select",
        value: user.timezone,
        options: timezones(user.timezone),
        hint: "Decides what “today” and “this month” mean.",
      }),
    ),
    h("div", { class: "flex justify-end" }, h("button", { type: "submit", class: "btn btn-primary" }, "Save profile")),
  ];
  replace(form, fields);

  let shown = { ...user };
  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));

  function showChange(change) {
    if (!change || change.status === "done") {
      replace(status);
      return;
    }
    if (PENDING.has(change.status)) {
      replace(
        status,
        h(
          "p",
          { class: "flex flex-wrap items-center gap-2 text-sm" },
          pill(change.status === "queued" ? "Queued" : "Converting", "warn"),
          `Changing your base currency from ${change.from_currency} to ${change.to_currency}. Your figures are converted in the background; keep using the app meanwhile.`,
        ),
      );
      return;
    }
    replace(
      status,
      h(
        "p",
        { class: "alert" },
        `The change from ${change.from_currency} to ${change.to_currency} failed and nothing was changed: ${change.error || "unknown error"}. Try again, or pick another currency.`,
      ),
    );
  }

  async function poll() {
    try {
      const fresh = await api("/auth/me/", { signal: ctx.signal });
      const change = fresh.base_currency_change;
      showChange(change);
      if (change && PENDING.has(change.status)) {
        timer = setTimeout(poll, POLL_MS);
        return;
      }
      shown = { ...shown, base_currency: fresh.base_currency };
      form.elements.base_currency.value = fresh.base_currency;
      invalidate("me");
      if (change?.status === "done") toast(`Your base currency is now ${fresh.base_currency}.`);
      emit("records:changed");
    } catch (error) {
      if (error.name !== "AbortError") replace(status, errorState(error, { retry: poll, compact: true }));
    }
  }

  const initial = user.base_currency_change;
  if (initial && PENDING.has(initial.status)) {
    showChange(initial);
    timer = setTimeout(poll, POLL_MS);
  } else if (initial?.status === "failed") {
    showChange(initial);
  }

  onSubmit(form, async (data) => {
    const changes = {};
    for (const name of ["email", "first_name", "last_name", "base_currency", "timezone"]) {
      if ((data[name] ?? "") !== (shown[name] ?? "")) changes[name] = data[name];
    }
    if (data.month_start_day !== String(shown.month_start_day)) {
      // A number the API can judge; anything else goes as typed, for its message.
      changes.month_start_day = /^\d+$/.test(data.month_start_day) ? Number(data.month_start_day) : data.month_start_day;
    }
    if (!Object.keys(changes).length) {
      toast("Nothing to save: no setting was changed.");
      return;
    }
    const response = await api("/auth/me/", { method: "PATCH", body: changes, as: "response" });
    const saved = await response.json();
    shown = { ...saved };
    invalidate("me");
    cached("me", () => Promise.resolve(saved));
    if (response.status === 202 && saved.base_currency_change && PENDING.has(saved.base_currency_change.status)) {
      showChange(saved.base_currency_change);
      form.elements.base_currency.value = saved.base_currency;
      shown.base_currency = saved.base_currency;
      timer = setTimeout(poll, POLL_MS);
      toast("Settings saved. The currency change runs in the background.");
    } else {
      showChange(null);
      toast("Settings saved.");
      if ("base_currency" in changes || "month_start_day" in changes || "timezone" in changes) emit("records:changed");
    }
  });
  return section("Profile", { description: "Your name, email, currency and budget month." }, form);
}

function preferencesSection(prefs) {
  const form = h("form", { id: "preferences-form", class: "space-y-4" });
  const kinds = [...Object.keys(NOTIFICATION_KINDS).filter((k) => k in prefs), ...Object.keys(prefs).filter((k) => !(k in NOTIFICATION_KINDS))];
  const checkbox = (kind, channel, label) =>
    h("input", {
      type: "checkbox",
      class: "size-5 rounded border-slate-400",
      name: `${kind}.${channel}`,
      checked: Boolean(prefs[kind]?.[channel]),
      "aria-label": `${kindLabel(kind)}: ${label}`,
    });
  const table = h(
    "div",
    { class: "overflow-x-auto" },
    h(
      "table",
      { class: "table" },
      h("caption", { class: "sr-only" }, "Where each kind of notification goes"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Notification"),
          h("th", { scope: "col", class: "w-20 text-center" }, "In app"),
          h("th", { scope: "col", class: "w-20 text-center" }, "Email"),
        ),
      ),
      h(
        "tbody",
        {},
        kinds.map((kind) =>
          h(
            "tr",
            {},
            h(
              "th",
              // A row header, styled as a cell (the table's th style is for the column heads).
              { scope: "row", class: "text-left text-sm font-normal tracking-normal normal-case text-slate-900 dark:text-slate-100" },
              h("span", { class: "font-medium" }, kindLabel(kind)),
              NOTIFICATION_KINDS[kind] ? h("span", { class: "muted block text-xs" }, NOTIFICATION_KINDS[kind].hint) : null,
            ),
            h("td", { class: "text-center" }, checkbox(kind, "in_app", "in app")),
            h("td", { class: "text-center" }, checkbox(kind, "email", "email")),
          ),
        ),
      ),
    ),
  );
  replace(
    form,
    formAlert(),
    table,
    h("div", { class: "flex justify-end" }, h("button", { type: "submit", class: "btn btn-primary" }, "Save notification settings")),
  );
  onSubmit(form, async (data) => {
    const body = {};
    for (const [name, on] of Object.entries(data)) {
      const [kind, channel] = name.split(".");
      if (!channel) continue;
      body[kind] = { ...(body[kind] || {}), [channel]: on };
    }
    await api("/notifications/preferences/", { method: "PATCH", body });
    emit("notifications:changed");
    toast("Notification settings saved.");
  });
  return section(
    "Notifications",
    { description: "Choose, per kind, whether it shows in the app and whether it is emailed to you." },
    form,
  );
}

function passwordSection() {
  const form = h(
    "form",
    { id: "password-form", class: "space-y-4" },
    formAlert(),
    field({ name: "old_password", label: "Current password", type: "password", autocomplete: "current-password", required: true }),
    field({
      name: "new_password",
      label: "New password",
      type: "password",
      autocomplete: "new-password",
      required: true,
      hint: "At least 8 characters, not all digits, not like your username.",
    }),
    h("div", { class: "flex justify-end" }, h("button", { type: "submit", class: "btn btn-primary" }, "Change password")),
  );
  onSubmit(form, async (data) => {
    const answer = await api("/auth/password/change/", {
      method: "POST",
      body: { old_password: data.old_password, new_password: data.new_password },
    });
    // The old refresh token is spent: keep this session on the fresh pair.
    session.start({ access: answer.access, refresh: answer.refresh });
    form.reset();
    toast("Password changed. You were signed out on every other device.");
  });
  return section(
    "Password",
    { description: "Changing it signs you out on every other device and browser; this one stays signed in." },
    form,
  );
}

function deleteSection(user) {
  const open = h("button", { type: "button", class: "btn btn-danger", onClick: () => confirmDelete(user) }, "Delete my account…");
  return section(
    "Delete account",
    { danger: true },
    h(
      "p",
      { class: "text-sm" },
      "Deletes your account, your personal book and everything in it, receipts included. It cannot be undone. Download a backup first (Exports) if you may want your records later.",
    ),
    h("div", { class: "mt-4" }, open),
  );
}

function confirmDelete(user) {
  const formId = "delete-account-form";
  const form = h(
    "form",
    { id: formId, class: "space-y-4" },
    h(
      "div",
      { class: "alert", role: "note" },
      h("p", { class: "font-semibold" }, "This deletes everything, for good."),
      h(
        "ul",
        { class: "mt-1 list-disc pl-5" },
        h("li", {}, "Your personal book: every expense, income, budget, goal and receipt."),
        h("li", {}, "Shared books where you are the only member."),
        h("li", {}, "In other shared books, what you wrote stays, without your name."),
      ),
    ),
    formAlert(),
    field({
      name: "password",
      label: `Password of ${user.username}`,
      type: "password",
      autocomplete: "current-password",
      required: true,
      hint: "Type your password to confirm.",
    }),
  );
  const dialog = openDialog({
    title: "Delete your account?",
    body: form,
    footer: [
      h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Keep my account"),
      h("button", { type: "submit", form: formId, class: "btn btn-danger" }, "Delete my account and data"),
    ],
  });
  onSubmit(form, async (data) => {
    await api("/auth/me/", { method: "DELETE", body: { password: data.password } });
    dialog.close();
    clearCache();
    session.end("deleted");
    toast("Your account and its data were deleted.");
  });
}

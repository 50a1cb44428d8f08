// Every notification (SPEC §12), newest first, a page at a time: all or unread only, mark
// one read, mark all read, dismiss. Each change tells the shell, whose bell recounts.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { ago } from "../format.js";
import { go, href, route } from "../router.js";
import { confirmDialog } from "../ui/dialog.js";
import { markAllRead, markRead } from "../ui/notifications.js";
import { accountTabs, pill } from "../ui/settings_tabs.js";
import { emptyState, pageHeader } from "../ui/states.js";
import { toast } from "../ui/toast.js";
import { kindLabel } from "./settings.js";

const PAGE_SIZE = 20;
const TONES = { budget_exceeded: "exceeded", connection_error: "exceeded", webhook_disabled: "exceeded", budget_warn: "warn", bill_due: "warn", goal_achieved: "ok" };

route({
  path: "/notifications",
  title: "Notifications",
  render: async (ctx) => {
    const unreadOnly = ctx.params.get("unread") === "1";
    const [first, { unread }] = await Promise.all([
      api("/notifications/", { query: { page_size: PAGE_SIZE, unread: unreadOnly ? "true" : null }, signal: ctx.signal }),
      api("/notifications/unread-count/", { signal: ctx.signal }),
    ]);
    const list = h("ul", { class: "divide-y divide-slate-200 dark:divide-slate-800", "aria-label": unreadOnly ? "Unread notifications" : "All notifications" });
    const more = h("button", { type: "button", class: "btn btn-secondary", hidden: true }, "Load more");
    const status = h("p", { class: "muted text-sm", role: "status", "aria-live": "polite" });
    const body = h("div", { class: "card" });
    let next = null;

    const markAll = h(
      "button",
      {
        type: "button",
        class: "btn btn-secondary",
        hidden: unread === 0,
        onClick: async () => {
          markAll.disabled = true;
          try {
            await markAllRead();
            toast("Every notification is marked read.");
            ctx.reload();
          } catch (error) {
            markAll.disabled = false;
            toast(error.message, { error: true });
          }
        },
      },
      "Mark all read",
    );

    function empty() {
      return unreadOnly
        ? emptyState({
            title: "No unread notifications",
            body: "You are all caught up. Budget alerts, bills due and unusual spending show up here.",
            action: h("a", { class: "btn btn-secondary", href: href("/notifications") }, "Show all notifications"),
          })
        : emptyState({
            title: "No notifications yet",
            body: "Budget alerts, bills due, goals reached and unusual spending show up here. Choose which ones you get in Settings.",
            action: h("a", { class: "btn btn-secondary", href: href("/settings") }, "Notification settings"),
          });
    }

    function item(n) {
      const li = h("li", { class: "flex flex-col gap-3 py-4 sm:flex-row sm:items-start sm:justify-between", dataset: { notification: String(n.id) } });
      const actions = h("div", { class: "flex shrink-0 gap-2" });
      function draw(row) {
        replace(
          li,
          h(
            "div",
            { class: "min-w-0" },
            h(
              "p",
              { class: "flex flex-wrap items-center gap-2" },
              row.read_at ? null : h("span", { class: "size-2 rounded-full bg-brand-600 dark:bg-brand-300", "aria-hidden": "true" }),
              h("span", { class: row.read_at ? "font-medium" : "font-semibold" }, row.title),
              row.read_at ? null : h("span", { class: "sr-only" }, "(unread)"),
            ),
            row.body ? h("p", { class: "muted mt-0.5 text-sm" }, row.body) : null,
            h(
              "p",
              { class: "muted mt-1 flex flex-wrap items-center gap-2 text-xs" },
              pill(kindLabel(row.kind), TONES[row.kind] || "neutral"),
              h("time", { datetime: row.created_at }, ago(row.created_at)),
            ),
          ),
          actions,
        );
        replace(
          actions,
          row.read_at
            ? null
            : h(
                "button",
                {
                  type: "button",
                  class: "btn btn-secondary btn-small",
                  "aria-label": `Mark read: ${row.title}`,
                  onClick: async (event) => {
                    event.currentTarget.disabled = true;
                    try {
                      await markRead(row.id);
                      if (unreadOnly) {
                        li.remove();
                        if (!list.children.length && !next) replace(body, empty());
                      } else {
                        draw({ ...row, read_at: new Date().toISOString() });
                      }
                    } catch (error) {
                      toast(error.message, { error: true });
                      event.currentTarget.disabled = false;
                    }
                  },
                },
                "Mark read",
              ),
          h(
            "button",
            {
              type: "button",
              class: "btn btn-ghost btn-small",
              "aria-label": `Dismiss: ${row.title}`,
              onClick: async () => {
                const sure = await confirmDialog({
                  title: "Dismiss this notification?",
                  message: `“${row.title}” is removed from your list for good.`,
                  confirmLabel: "Dismiss",
                });
                if (!sure) return;
                try {
                  await api(`/notifications/${row.id}/`, { method: "DELETE" });
                  li.remove();
                  ctx.reload();
                } catch (error) {
                  toast(error.message, { error: true });
                }
              },
            },
            "Dismiss",
          ),
        );
      }
      draw(n);
      return li;
    }

    function add(page) {
      list.append(...page.results.map(item));
      next = page.next;
      more.hidden = !next;
      status.textContent = `Showing ${list.children.length} of ${page.count}.`;
    }

    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        add(await api(next, { signal: ctx.signal }));
      } catch (error) {
        if (error.name !== "AbortError") toast(error.message, { error: true });
      } finally {
        more.disabled = false;
      }
    });

    const filter = h(
      "div",
      { class: "mb-4 flex flex-wrap items-center gap-3" },
      h(
        "fieldset",
        { class: "inline-flex rounded-lg border border-slate-300 p-0.5 dark:border-slate-700" },
        h("legend", { class: "sr-only" }, "Show"),
        [
          ["all", "All", !unreadOnly],
          ["unread", "Unread", unreadOnly],
        ].map(([value, label, checked]) =>
          h(
            "label",
            {
              class: checked
                ? "cursor-pointer rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white has-focus-visible:outline-2 has-focus-visible:outline-brand-500 dark:bg-brand-400 dark:text-slate-950"
                : "cursor-pointer rounded-md px-3 py-1.5 text-sm font-medium has-focus-visible:outline-2 has-focus-visible:outline-brand-500",
            },
            h("input", {
              type: "radio",
              name: "notification-filter",
              value,
              class: "sr-only",
              checked,
              onChange: () => go("/notifications", value === "unread" ? { unread: "1" } : {}),
            }),
            label,
          ),
        ),
      ),
      status,
    );

    if (first.results.length) {
      replace(body, list, h("div", { class: "mt-4 flex justify-center" }, more));
      add(first);
    } else {
      replace(body, empty());
    }
    return h(
      "div",
      {},
      pageHeader("Notifications", { subtitle: "Alerts and reminders the app sent you, newest first.", actions: [markAll] }),
      accountTabs("/notifications"),
      filter,
      body,
    );
  },
});

// Unread notifications (SPEC §12): the bell's dialog and the dashboard's card share this
// list, with "Mark read" per item and "Mark all read".

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { ago } from "../format.js";
import { emit } from "../store.js";
import { openDialog } from "./dialog.js";
import { emptyState, errorState, loading } from "./states.js";

export async function unreadNotifications(limit = 20) {
  const page = await api("/notifications/", { query: { unread: "true", page_size: limit } });
  return page;
}

export async function markRead(id) {
  await api(`/notifications/${id}/read/`, { method: "POST" });
  emit("notifications:changed");
}

export async function markAllRead() {
  await api("/notifications/read-all/", { method: "POST" });
  emit("notifications:changed");
}

/** A list of notifications that removes an item once it is marked read. */
export function notificationList(rows, { onEmpty } = {}) {
  const list = h("ul", { class: "divide-y divide-slate-200 dark:divide-slate-800" });
  for (const n of rows) {
    const item = h(
      "li",
      { class: "flex items-start justify-between gap-3 py-3" },
      h(
        "div",
        { class: "min-w-0" },
        h("p", { class: "font-medium" }, n.title),
        n.body ? h("p", { class: "muted mt-0.5 text-sm" }, n.body) : null,
        h("p", { class: "muted mt-0.5 text-xs" }, h("time", { datetime: n.created_at }, ago(n.created_at))),
      ),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-secondary btn-small shrink-0",
          "aria-label": `Mark read: ${n.title}`,
          onClick: async (event) => {
            event.currentTarget.disabled = true;
            await markRead(n.id);
            item.remove();
            if (!list.children.length) onEmpty?.();
          },
        },
        "Mark read",
      ),
    );
    list.append(item);
  }
  return list;
}

export function openNotifications() {
  const body = h("div", {}, loading("Loading notifications…"));
  const markAll = h("button", { type: "button", class: "btn btn-secondary", hidden: true }, "Mark all read");
  const dialog = openDialog({
    title: "Notifications",
    body,
    footer: [
      // The whole list, read ones included (pages/notifications.js).
      h(
        "a",
        {
          class: "btn btn-ghost sm:mr-auto",
          href: "#/notifications",
          onClick: (event) => {
            event.preventDefault(); // a link removed with its dialog would not navigate
            dialog.close();
            location.hash = "#/notifications";
          },
        },
        "All notifications",
      ),
      markAll,
      h("button", { type: "button", class: "btn btn-primary", onClick: () => dialog.close() }, "Close"),
    ],
    initialFocus: "button.btn-primary",
  });
  const none = () =>
    emptyState({ title: "You are all caught up", body: "Budget alerts, bills due and unusual spending show up here." });
  async function load() {
    try {
      const page = await unreadNotifications();
      markAll.hidden = page.results.length === 0;
      replace(body, page.results.length ? notificationList(page.results, { onEmpty: () => replace(body, none()) }) : none());
    } catch (error) {
      replace(body, errorState(error, { retry: load, compact: true }));
    }
  }
  markAll.addEventListener("click", async () => {
    markAll.disabled = true;
    await markAllRead();
    markAll.hidden = true;
    replace(body, none());
  });
  load();
}

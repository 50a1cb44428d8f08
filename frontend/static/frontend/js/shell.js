// The frame around every page: skip link, header with the navigation (a menu button on
// phones), dark-mode toggle, notification bell and sign out; or, signed out, a plain
// centred layout. Pages render into the <main> this returns.

import { api } from "./api.js";
import { me, signOut } from "./auth.js";
import { h, ICONS, icon, replace } from "./dom.js";
import { href, navItems } from "./router.js";
import { on } from "./store.js";
import { isDark, onThemeChange, setDark } from "./theme.js";
import { bookSwitcher } from "./ui/book_switcher.js";
import { openNotifications } from "./ui/notifications.js";

const app = () => document.getElementById("app");
let mounted = null; // "app" | "bare"
let parts = null;

/** Returns the <main> element for a page definition, building the layout it needs. */
export function layout(definition) {
  const kind = definition.layout === "bare" ? "bare" : "app";
  if (mounted !== kind) {
    parts?.dispose?.();
    parts = kind === "app" ? appLayout() : bareLayout();
    mounted = kind;
  }
  parts.update?.(definition);
  return parts.main;
}

/** Forget the layout (after signing out, the next one is built afresh). */
export function resetLayout() {
  parts?.dispose?.();
  parts = null;
  mounted = null;
}

function mainElement(cls) {
  return h("main", { id: "main", tabindex: "-1", class: cls });
}

function skipLink() {
  // Not a plain #main link: the hash is the router's.
  return h(
    "a",
    {
      href: "#main",
      class: "skip-link",
      onClick: (event) => {
        event.preventDefault();
        document.getElementById("main")?.focus();
      },
    },
    "Skip to content",
  );
}

function bareLayout() {
  const main = mainElement("mx-auto w-full max-w-md px-4 py-10 sm:py-16 focus:outline-none");
  replace(
    app(),
    skipLink(),
    h(
      "div",
      { class: "flex min-h-screen flex-col" },
      h(
        "header",
        { class: "mx-auto flex w-full max-w-md items-center justify-between px-4 pt-8" },
        brand(),
        themeToggle(),
      ),
      main,
    ),
  );
  return { main };
}

function brand() {
  return h(
    "a",
    { href: "#/", class: "flex items-center gap-2 text-lg font-semibold tracking-tight whitespace-nowrap", "aria-label": "Budget Tracker" },
    h("span", { class: "grid size-8 place-items-center rounded-lg bg-brand-600 text-white", "aria-hidden": "true" }, "B"),
    // Only the mark where the full navigation needs the room (the link keeps its name).
    h("span", { class: "hidden 2xl:inline" }, "Budget Tracker"),
  );
}

function themeToggle() {
  const button = h("button", {
    type: "button",
    class: "btn btn-ghost btn-small",
    "aria-label": "Dark mode",
    dataset: { themeToggle: "" },
    onClick: () => setDark(!isDark()),
  });
  drawToggle(button);
  return button;
}

function drawToggle(button) {
  const dark = isDark();
  button.setAttribute("aria-pressed", String(dark));
  button.title = dark ? "Dark mode is on" : "Dark mode is off";
  replace(button, icon(dark ? ICONS.moon : ICONS.sun, "size-5"));
}

onThemeChange(() => document.querySelectorAll("[data-theme-toggle]").forEach(drawToggle));

function appLayout() {
  const main = mainElement("mx-auto w-full max-w-6xl px-4 py-6 sm:px-6 focus:outline-none");
  // The full navigation from 1280 px (xl); narrower screens use the menu button, since
  // ten links, the book picker, the theme, the bell and "Sign out" need ~1,170 px.
  const desktopNav = h("ul", { class: "hidden items-center gap-1 xl:flex" });
  const phoneNav = h("ul", { class: "flex flex-col gap-1" });
  const who = h("span", { class: "muted hidden text-sm 2xl:inline" });
  const whoPhone = h("p", { class: "muted px-3 pt-2 text-sm" });
  const count = h("span", {
    class: "absolute -top-1 -right-1 min-w-5 rounded-full bg-red-600 px-1 text-center text-xs leading-5 font-semibold text-white",
    "aria-hidden": "true",
    hidden: true,
  });
  const bell = h(
    "button",
    { type: "button", class: "btn btn-ghost btn-small relative", "aria-label": "Notifications", onClick: () => openNotifications() },
    icon(ICONS.bell, "size-5"),
    count,
  );
  const menuButton = h(
    "button",
    {
      type: "button",
      class: "btn btn-ghost btn-small xl:hidden",
      "aria-expanded": "false",
      "aria-controls": "phone-menu",
      onClick: () => toggleMenu(),
    },
    icon(ICONS.menu, "size-5"),
    h("span", {}, "Menu"),
  );
  const phoneMenu = h(
    "nav",
    { id: "phone-menu", class: "border-t border-slate-200 px-4 pb-4 xl:hidden dark:border-slate-800", "aria-label": "Main", hidden: true },
    bookSwitcher({ phone: true }),
    phoneNav,
    whoPhone,
    h("button", { type: "button", class: "btn btn-secondary mt-2 w-full", onClick: () => signOut() }, "Sign out"),
  );
  function toggleMenu(open = phoneMenu.hidden) {
    phoneMenu.hidden = !open;
    menuButton.setAttribute("aria-expanded", String(open));
  }

  replace(
    app(),
    skipLink(),
    h(
      "header",
      { class: "sticky top-0 z-30 border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900" },
      h(
        "div",
        { class: "mx-auto flex h-16 max-w-7xl items-center gap-4 px-4 sm:px-6" },
        brand(),
        h("nav", { class: "hidden flex-1 xl:block", "aria-label": "Main" }, desktopNav),
        h(
          "div",
          { class: "ml-auto flex items-center gap-1 xl:ml-0" },
          bookSwitcher(),
          who,
          themeToggle(),
          bell,
          h("button", { type: "button", class: "btn btn-secondary btn-small hidden xl:inline-flex", onClick: () => signOut() }, "Sign out"),
          menuButton,
        ),
      ),
      phoneMenu,
    ),
    main,
  );

  async function refreshCount() {
    try {
      const { unread } = await api("/notifications/unread-count/");
      count.textContent = unread > 99 ? "99+" : String(unread);
      count.hidden = unread === 0;
      bell.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications, none unread");
    } catch {
      // The bell is a hint; the page itself reports errors.
    }
  }
  me()
    .then((user) => {
      who.textContent = user.username;
      whoPhone.textContent = `Signed in as ${user.username}`;
    })
    .catch(() => {});
  const stop = on("notifications:changed", refreshCount);
  const stopRecords = on("records:changed", refreshCount);
  const timer = setInterval(() => document.visibilityState === "visible" && refreshCount(), 60_000);

  return {
    main,
    update(definition) {
      const links = (list, phone) =>
        navItems().map((item) =>
          h(
            "li",
            {},
            h(
              "a",
              {
                class: "nav-link",
                href: href(item.path),
                "aria-current": item.path === definition.path ? "page" : null,
                onClick: phone ? () => toggleMenu(false) : null,
              },
              item.nav.label,
            ),
          ),
        );
      replace(desktopNav, links(desktopNav, false));
      replace(phoneNav, links(phoneNav, true));
      toggleMenu(false);
      refreshCount();
    },
    dispose() {
      stop();
      stopRecords();
      clearInterval(timer);
    },
  };
}

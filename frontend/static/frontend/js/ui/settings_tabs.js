// The account area's own navigation: settings, notifications, bank connections and
// webhooks are four pages reached from one "Settings" entry of the main navigation (so
// the main navigation stays short on a phone), linked to each other by this tab row.

import { h } from "../dom.js";
import { href } from "../router.js";

export const ACCOUNT_PAGES = [
  { path: "/settings", label: "Settings" },
  { path: "/notifications", label: "Notifications" },
  { path: "/connections", label: "Bank connections" },
  { path: "/webhooks", label: "Webhooks" },
];

/** The tab row with the current page marked (aria-current), scrolling sideways on phones. */
export function accountTabs(current) {
  return h(
    "nav",
    { class: "-mx-4 mb-6 overflow-x-auto px-4 sm:mx-0 sm:px-0", "aria-label": "Account" },
    h(
      "ul",
      { class: "flex gap-1 border-b border-slate-200 dark:border-slate-800" },
      ACCOUNT_PAGES.map((page) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: href(page.path),
              class:
                page.path === current
                  ? "-mb-px block border-b-2 border-brand-600 px-3 py-2 text-sm font-semibold whitespace-nowrap text-brand-700 dark:border-brand-300 dark:text-brand-300"
                  : "-mb-px block border-b-2 border-transparent px-3 py-2 text-sm font-medium whitespace-nowrap text-slate-700 hover:border-slate-300 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white",
              "aria-current": page.path === current ? "page" : null,
            },
            page.label,
          ),
        ),
      ),
    ),
  );
}

/** A titled card section of an account page, labelled by its heading. */
export function section(title, { description, id, danger = false } = {}, ...children) {
  const headingId = id || `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h(
    "section",
    { class: danger ? "card border-red-300 dark:border-red-900" : "card", "aria-labelledby": headingId },
    h("h2", { id: headingId, class: "card-title" }, title),
    description ? h("p", { class: "muted -mt-2 mb-4 text-sm" }, description) : null,
    children,
  );
}

/** A small status pill: tone ok | warn | exceeded | neutral. */
export function pill(text, tone = "neutral") {
  const tones = {
    ok: "badge badge-ok",
    warn: "badge badge-warn",
    exceeded: "badge badge-exceeded",
    neutral: "badge bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-100",
  };
  return h("span", { class: tones[tone] || tones.neutral }, text);
}

// Hash routing: `#/transactions?search=coffee` is the page `/transactions` with its
// query. Every page is one module that calls route({...}) when imported (pages/index.js
// imports them all), so Django serves one URL and adding a page touches no other page.

import { replace } from "./dom.js";
import * as session from "./session.js";
import { errorState, loading, notFoundPage } from "./ui/states.js";

const routes = new Map();
const HOME = "/dashboard";
const SIGN_IN = "/signin";

/**
 * Registers a page.
 *   path     "/budgets"
 *   title    the document title and the page heading's text
 *   render   (ctx) => Node | Promise<Node>; ctx = {params, signal, onLeave(fn), reload()}:
 *            params are the hash's URLSearchParams, signal aborts when the person
 *            leaves the page, onLeave registers cleanups (observers, charts, timers)
 *   nav      {label, order} to be listed in the main navigation (signed-in pages)
 *   public   true for pages shown signed out (sign in, sign up)
 *   layout   "app" (header and navigation, default) or "bare" (a centred card)
 */
export function route(definition) {
  routes.set(definition.path, { layout: "app", public: false, ...definition });
}

export function navItems() {
  return [...routes.values()].filter((r) => r.nav).sort((a, b) => (a.nav.order ?? 100) - (b.nav.order ?? 100));
}

/** "#/transactions?category=3" for a path and an object of parameters. */
export function href(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const search = query.toString();
  return `#${path}${search ? `?${search}` : ""}`;
}

export function go(path, params) {
  const target = href(path, params);
  if (location.hash === target) render();
  else location.hash = target;
}

export function current() {
  const raw = location.hash.replace(/^#/, "") || "";
  const [path, search = ""] = raw.split("?");
  return { path: path || "", params: new URLSearchParams(search) };
}

let layoutFor = null;
let leaving = [];
let controller = null;
let rendered = 0;

/** Starts routing; layout(definition) returns the <main> element a page renders into. */
export function start({ layout }) {
  layoutFor = layout;
  window.addEventListener("hashchange", render);
  session.onChange((event) => {
    if (event === "end") go(SIGN_IN, current().path && current().path !== SIGN_IN ? { next: location.hash.slice(1) } : {});
  });
  render();
}

/** Draws the page of the current hash (again). */
export async function render() {
  const { path, params } = current();
  if (!path || path === "/") return go(session.signedIn() ? HOME : SIGN_IN);
  const definition = routes.get(path) || notFound(path);
  if (!definition.public && !session.signedIn()) return go(SIGN_IN, { next: location.hash.slice(1) });
  if (definition.public && definition.signedOutOnly && session.signedIn()) return go(HOME);

  for (const fn of leaving) fn();
  leaving = [];
  controller?.abort();
  controller = new AbortController();
  const ctx = {
    params,
    signal: controller.signal,
    onLeave: (fn) => leaving.push(fn),
    reload: render,
  };
  const main = layoutFor(definition);
  document.title = `${definition.title} · Budget Tracker`;
  replace(main, loading(`Loading ${definition.title.toLowerCase()}…`));
  window.scrollTo(0, 0);
  try {
    const node = await definition.render(ctx);
    if (ctx.signal.aborted) return;
    replace(main, node);
  } catch (error) {
    if (ctx.signal.aborted || error.name === "AbortError") return;
    replace(main, errorState(error, { retry: render }));
  }
  // After the first page, move focus to the new page's heading, as a page load would.
  rendered += 1;
  if (rendered > 1) {
    const heading = main.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
}

function notFound(path) {
  return {
    path,
    title: "Page not found",
    layout: session.signedIn() ? "app" : "bare",
    public: true,
    render: () => notFoundPage(path, session.signedIn() ? HOME : SIGN_IN),
  };
}

// Small shared state: per-session caches of lists that rarely change (categories,
// currencies, the profile), and app-wide events ("records:changed" after a write, so
// the bell and open pages refresh).

import { all, bookPath } from "./api.js";

const cache = new Map();

/** The value of loader(), computed once per session (a failed load is retried next time). */
export function cached(key, loader) {
  if (!cache.has(key)) {
    const promise = loader();
    cache.set(key, promise);
    promise.catch(() => cache.delete(key));
  }
  return cache.get(key);
}

export function invalidate(key) {
  cache.delete(key);
}

export function clearCache() {
  cache.clear();
}

/** Every category the book can use, both kinds, sorted as the API sorts them. */
export function categories() {
  return cached("categories", () => all(bookPath("/categories/"))); // per book: ui/book_switcher.js clears it
}

/** Every currency code the API accepts. */
export function currencies() {
  return cached("currencies", () => all("/currencies/"));
}

/** Categories of one kind as select options, children after their parent ("Food › Coffee"). */
export async function categoryOptions(kind) {
  const rows = (await categories()).filter((c) => c.kind === kind);
  const byId = new Map(rows.map((c) => [c.id, c]));
  const label = (c) => (c.parent && byId.has(c.parent) ? `${byId.get(c.parent).name} › ${c.name}` : c.name);
  return rows.map((c) => ({ value: String(c.id), label: label(c) })).sort((a, b) => a.label.localeCompare(b.label));
}

const bus = new EventTarget();

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

/** Listens to an app event; returns the unsubscribe function. */
export function on(name, fn) {
  const handler = (event) => fn(event.detail);
  bus.addEventListener(name, handler);
  return () => bus.removeEventListener(name, handler);
}

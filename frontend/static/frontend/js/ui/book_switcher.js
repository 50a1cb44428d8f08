// Which book the app shows (SPEC §14): the personal book (top-level API paths) or a shared
// one (`/api/v1/books/{id}/…`, through api.js's setBook/bookPath, the one place URLs learn
// the book). The choice is kept in localStorage per browser, checked against the books the
// person is a member of on every page load, and forgotten on sign-out. Changing it clears
// the per-book caches (categories) and draws the page again for the new book.

import { api, book, setBook } from "../api.js";
import { h, replace, uid } from "../dom.js";
import { go, href, render } from "../router.js";
import * as session from "../session.js";
import { cached, emit, invalidate, on } from "../store.js";

const KEY = "bt.book";
const MANAGE = "manage";

// Applied before the first page is drawn, so its first request already has the right prefix.
setBook(Number(localStorage.getItem(KEY)) || null);

session.onChange((event) => {
  if (event === "end") {
    localStorage.removeItem(KEY);
    setBook(null);
  }
  invalidate("books");
});

/** Every book the person is a member of, personal first (a person has a handful). */
export function books() {
  return cached("books", async () => {
    const page = await api("/books/", { query: { page_size: 500 } });
    return page.results.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "personal" ? -1 : 1));
  });
}

/** Call after creating, joining, leaving or renaming a book: pickers and pages reload it. */
export function booksChanged() {
  invalidate("books");
  emit("books:changed");
}

/** The book shown now (with the caller's `role`); the personal one when none is chosen. */
export async function currentBook() {
  const rows = await books();
  const id = book();
  const found = id ? rows.find((b) => b.id === id) : null;
  if (id && !found) {
    // Left, removed or deleted meanwhile (or another person's choice on this browser).
    chooseBook(null, { redraw: false });
  }
  return found || rows.find((b) => b.kind === "personal") || rows[0];
}

/** Members of a shared book, cached for the session (the split editor asks per form). */
export function members(bookId) {
  return cached(`members:${bookId}`, async () => (await api(`/books/${bookId}/members/`, { query: { page_size: 500 } })).results);
}

export function forgetMembers(bookId) {
  invalidate(`members:${bookId}`);
}

/** Shows book `id` (null: the personal book) from now on, and draws the page again. */
export function chooseBook(id, { redraw = true, path } = {}) {
  const next = id || null;
  if (next) localStorage.setItem(KEY, String(next));
  else localStorage.removeItem(KEY);
  const changed = next !== book();
  setBook(next);
  if (changed) {
    invalidate("categories");
    emit("book:changed", { id: next });
  }
  if (path) go(path);
  else if (redraw) render();
}

/**
 * The header's book picker: a labelled <select> of the person's books (the personal one
 * first) and a link to manage them. Built empty and filled when the list arrives.
 */
export function bookSwitcher({ phone = false } = {}) {
  const id = uid("book-switcher");
  const select = h("select", {
    id,
    class: phone ? "input" : "input min-h-8 w-auto max-w-40 py-1 text-xs",
    onChange: () => {
      if (select.value === MANAGE) {
        fill();
        go("/books");
      } else chooseBook(Number(select.value) || null);
    },
  });
  // The header is crowded on desktop: there the label is for screen readers and the way to
  // the books page is the picker's last option; the phone menu has room for both.
  const wrapper = h(
    "div",
    { class: phone ? "px-3 pt-3" : "hidden items-center xl:flex", dataset: { bookSwitcher: "" } },
    h("label", { for: id, class: phone ? "label" : "sr-only" }, "Book"),
    select,
    phone ? h("a", { class: "link mt-2 inline-block text-sm", href: href("/books") }, "Manage books") : null,
  );
  async function fill() {
    try {
      const [rows, shown] = await Promise.all([books(), currentBook()]);
      replace(
        select,
        rows.map((b) =>
          h("option", { value: b.kind === "personal" ? "" : String(b.id), selected: b.id === shown?.id }, b.kind === "personal" ? `${b.name} (personal)` : b.name),
        ),
        phone ? null : h("option", { value: MANAGE }, "Manage books…"),
      );
    } catch {
      // The picker is a convenience; pages report their own errors.
      replace(select, h("option", { value: "" }, "Personal book"));
    }
  }
  fill();
  // Redrawn when books come and go or another picker (phone, desktop) changes the book.
  const stops = ["books:changed", "book:changed"].map((name) =>
    on(name, () => {
      if (wrapper.isConnected) fill();
      else stops.forEach((stop) => stop());
    }),
  );
  return wrapper;
}

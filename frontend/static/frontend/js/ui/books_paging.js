// "Show more" for the page-numbered lists of the books pages (members, invitations,
// settlements): the first page is drawn, the next ones only when asked, by the API's
// `next` link.

import { api } from "../api.js";
import { h } from "../dom.js";
import { errorState } from "./states.js";

/**
 * pagedRows({path, query, add(rows), signal}) → {el (the button and its messages),
 * first: Promise of the first page}. add(rows) draws the rows of each page.
 */
export function pagedRows({ path, query, add, signal, label = "Show more" }) {
  let next = null;
  const slot = h("div", { class: "mt-3" });
  const button = h("button", { type: "button", class: "btn btn-secondary btn-small", hidden: true }, label);
  slot.append(button);
  async function load(target, params) {
    button.disabled = true;
    try {
      const page = await api(target, { query: params, signal });
      add(page.results, page);
      next = page.next;
      button.hidden = !next;
      return page;
    } catch (error) {
      if (error.name === "AbortError") return null;
      slot.append(errorState(error, { compact: true }));
      throw error;
    } finally {
      button.disabled = false;
    }
  }
  button.addEventListener("click", () => next && load(next).catch(() => {}));
  return { el: slot, first: load(path, { page_size: 25, ...query }) };
}

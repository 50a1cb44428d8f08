// Short confirmations ("Expense saved") in the shell's polite live region.

import { h } from "../dom.js";

export function toast(message, { error = false, timeout = 5000 } = {}) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const item = h("div", { class: error ? "toast toast-error" : "toast" }, message);
  region.append(item);
  setTimeout(() => item.remove(), timeout);
}

// Dark mode: the system's preference until the person picks one with the toggle; the
// choice is kept in localStorage and applied as <html data-theme="light|dark"> (the CSS
// reads both, see frontend/assets/app.css).

const KEY = "bt.theme";
const media = window.matchMedia("(prefers-color-scheme: dark)");

export function isDark() {
  const chosen = localStorage.getItem(KEY);
  return chosen ? chosen === "dark" : media.matches;
}

export function applyTheme() {
  const chosen = localStorage.getItem(KEY);
  if (chosen === "dark" || chosen === "light") document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
}

export function setDark(dark) {
  localStorage.setItem(KEY, dark ? "dark" : "light");
  applyTheme();
  notify();
}

const listeners = new Set();

/** Calls fn(dark) whenever the theme changes (charts redraw their colours). */
export function onThemeChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  // A copy: a listener may re-render a page, which unsubscribes and subscribes again.
  for (const fn of [...listeners]) fn(isDark());
}

media.addEventListener("change", () => {
  if (!localStorage.getItem(KEY)) notify();
});
window.addEventListener("storage", (event) => {
  if (event.key === KEY) {
    applyTheme();
    notify();
  }
});

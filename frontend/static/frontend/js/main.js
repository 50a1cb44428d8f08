// The web app's entry point (loaded by frontend/templates/frontend/shell.html).

import "./pages/index.js";
import { start } from "./router.js";
import * as session from "./session.js";
import { layout, resetLayout } from "./shell.js";
import { applyTheme } from "./theme.js";
import { toast } from "./ui/toast.js";

applyTheme();
session.onChange((event) => {
  if (event === "end") resetLayout();
});
// A failure no page caught is still told to the person, never swallowed.
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason?.name === "AbortError") return;
  toast(event.reason?.message || "Something went wrong. Try again.", { error: true });
});
start({ layout });

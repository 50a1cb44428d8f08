// Sign in (POST /auth/token/): username or email and password.

import { signIn } from "../auth.js";
import { h } from "../dom.js";
import { go, route } from "../router.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";

/** Where to go after signing in: the page that asked for it, if it is one of ours. */
export function nextPath(params) {
  const next = params.get("next") || "";
  return next.startsWith("/") && !next.startsWith("/signin") && !next.startsWith("/signup") ? next : "/dashboard";
}

export function goNext(params) {
  const [path, search = ""] = nextPath(params).split("?");
  go(path, Object.fromEntries(new URLSearchParams(search)));
}

route({
  path: "/signin",
  title: "Sign in",
  layout: "bare",
  public: true,
  signedOutOnly: true,
  render: ({ params }) => {
    const form = h(
      "form",
      { class: "space-y-4", "aria-labelledby": "signin-title" },
      formAlert(),
      field({ name: "username", label: "Username or email", required: true, autocomplete: "username", autocapitalize: "none", spellcheck: "false" }),
      field({ name: "password", label: "Password", type: "password", required: true, autocomplete: "current-password" }),
      h("button", { type: "submit", class: "btn btn-primary w-full" }, "Sign in"),
    );
    onSubmit(
      form,
      (v) => signIn(v.username, v.password),
      () => goNext(params),
    );
    return h(
      "div",
      { class: "card" },
      h("h1", { id: "signin-title", class: "mb-1 text-2xl font-semibold" }, "Sign in"),
      h("p", { class: "muted mb-6 text-sm" }, "Welcome back. Sign in to see where your money goes."),
      form,
      h(
        "p",
        { class: "muted mt-6 text-sm" },
        "New here? ",
        h("a", { class: "link", href: "#/signup" }, "Create an account"),
      ),
    );
  },
});

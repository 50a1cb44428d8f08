// Sign up (POST /auth/register/), then signed in straight away.

import { signUp } from "../auth.js";
import { h } from "../dom.js";
import { route } from "../router.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import { goNext } from "./signin.js";

// Suggestions only: any ISO 4217 code the API knows is accepted.
const COMMON_CURRENCIES = ["USD", "EUR", "GBP", "INR", "JPY", "CAD", "AUD", "CHF", "CNY", "SEK", "NOK", "DKK", "PLN", "BRL", "MXN", "ZAR", "SGD", "NZD", "KRW", "HKD"];

route({
  path: "/signup",
  title: "Create an account",
  layout: "bare",
  public: true,
  signedOutOnly: true,
  render: ({ params }) => {
    const form = h(
      "form",
      { class: "space-y-4", "aria-labelledby": "signup-title" },
      formAlert(),
      field({ name: "username", label: "Username", required: true, autocomplete: "username", autocapitalize: "none", spellcheck: "false" }),
      field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "email" }),
      field({
        name: "password",
        label: "Password",
        type: "password",
        required: true,
        autocomplete: "new-password",
        hint: "At least 8 characters, not only digits, not a common password.",
      }),
      field({
        name: "base_currency",
        label: "Currency",
        hint: "The currency your budgets and reports use, e.g. USD or EUR. You can change it later.",
        list: "currency-suggestions",
        maxlength: "3",
        autocapitalize: "characters",
        autocomplete: "off",
        spellcheck: "false",
      }),
      h("datalist", { id: "currency-suggestions" }, COMMON_CURRENCIES.map((code) => h("option", { value: code }))),
      h("button", { type: "submit", class: "btn btn-primary w-full" }, "Create account"),
    );
    onSubmit(form, signUp, () => goNext(params));
    return h(
      "div",
      { class: "card" },
      h("h1", { id: "signup-title", class: "mb-1 text-2xl font-semibold" }, "Create an account"),
      h("p", { class: "muted mb-6 text-sm" }, "Track spending, set budgets and save toward goals."),
      form,
      h("p", { class: "muted mt-6 text-sm" }, "Already have an account? ", h("a", { class: "link", href: "#/signin" }, "Sign in")),
    );
  },
});

// Form fields with their label, hint and error message wired for screen readers, and the
// API's 400 answer ({"field": ["message"]}) shown next to the fields it names. Forms use
// `novalidate`: the API's messages are the ones people see, in one voice.

import { ApiError, firstMessage } from "../api.js";
import { h, replace, uid } from "../dom.js";

/**
 * field({name, label, type, value, required, hint, options, empty, rows, ...attrs}) → a
 * wrapper holding the control. type: text, email, password, number, date, file,
 * textarea, select (options: [{value, label}], `empty`: the label of a blank first option),
 * checkbox. Extra keys become attributes of the control (autocomplete, inputmode, …).
 */
export function field({ name, label, type = "text", value, required, hint, options, empty, rows, class: cls, ...attrs }) {
  const id = uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const common = {
    id,
    name,
    required: required || null,
    "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    ...attrs,
  };
  let control;
  if (type === "select") {
    control = h(
      "select",
      { class: "input", ...common },
      empty !== undefined ? h("option", { value: "" }, empty) : null,
      (options || []).map((o) => h("option", { value: o.value, selected: String(o.value) === String(value ?? "") }, o.label)),
    );
  } else if (type === "textarea") {
    control = h("textarea", { class: "input", rows: rows || 3, ...common, value: value ?? "" });
  } else if (type === "checkbox") {
    control = h("input", { type, class: "size-4 rounded border-slate-400", ...common, checked: Boolean(value) });
  } else {
    control = h("input", { type, class: "input", ...common, value: type === "file" ? null : (value ?? "") });
  }
  const error = h("p", { id: errorId, class: "field-error", hidden: true });
  const hintEl = hint ? h("p", { id: hintId, class: "hint" }, hint) : null;
  if (type === "checkbox") {
    return h(
      "div",
      { class: cls || "", dataset: { field: name } },
      h("div", { class: "flex items-center gap-2" }, control, h("label", { for: id, class: "text-sm" }, label)),
      hintEl,
      error,
    );
  }
  return h(
    "div",
    { class: cls || "", dataset: { field: name } },
    h("label", { for: id, class: "label" }, label, required ? h("span", { class: "muted font-normal" }, " (required)") : null),
    control,
    hintEl,
    error,
  );
}

/** The alert at the top of a form for errors no field owns (hidden until then). */
export function formAlert(cls = "") {
  return h("div", { class: `alert ${cls}`, role: "alert", hidden: true, dataset: { formAlert: "" }, tabindex: "-1" });
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  const alert = form.querySelector("[data-form-alert]");
  if (alert) {
    alert.hidden = true;
    alert.textContent = "";
  }
}

/** Shows an ApiError on the form: field messages next to their fields, the rest on top. */
export function showErrors(form, error) {
  clearErrors(form);
  const loose = [];
  let first = null;
  const fields = error instanceof ApiError ? error.fields : {};
  for (const [name, messages] of Object.entries(fields)) {
    const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    const text = firstMessage(messages);
    if (!wrapper || name === "non_field_errors") {
      loose.push(name === "non_field_errors" || name === "detail" ? text : `${name.replaceAll("_", " ")}: ${text}`);
      continue;
    }
    const control = wrapper.querySelector("input, select, textarea");
    control?.setAttribute("aria-invalid", "true");
    const slot = wrapper.querySelector(".field-error");
    slot.textContent = text;
    slot.hidden = false;
    first = first || control;
  }
  if (!Object.keys(fields).length) loose.push(error?.message || "Something went wrong. Try again.");
  const alert = form.querySelector("[data-form-alert]");
  if (loose.length && alert) {
    replace(alert, loose.length === 1 ? loose[0] : h("ul", { class: "list-disc pl-5" }, loose.map((m) => h("li", {}, m))));
    alert.hidden = false;
  }
  if (first) first.focus();
  else if (alert && !alert.hidden) alert.focus();
}

/** The form's values by name: text trimmed, checkboxes as booleans, files as File|null. */
export function values(form) {
  const result = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") result[el.name] = el.checked;
    else if (el.type === "radio") {
      if (el.checked) result[el.name] = el.value;
    } else if (el.type === "file") result[el.name] = el.files[0] || null;
    else result[el.name] = typeof el.value === "string" ? el.value.trim() : el.value;
  }
  return result;
}

/**
 * Runs action(values) on submit with the submit buttons disabled; an ApiError is shown on
 * the form, anything else rethrown. onDone(result) runs after success.
 */
export function onSubmit(form, action, onDone) {
  form.noValidate = true;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll("button[type=submit]"), ...document.querySelectorAll(`button[type=submit][form="${form.id}"]`)];
    buttons.forEach((b) => (b.disabled = true));
    form.setAttribute("aria-busy", "true");
    clearErrors(form);
    try {
      const result = await action(values(form));
      await onDone?.(result);
    } catch (error) {
      if (error instanceof ApiError) showErrors(form, error);
      else throw error;
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

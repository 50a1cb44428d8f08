// Books (SPEC §14): the list of the person's books and a new shared book (/books), one
// book's settings, members, invitations, leaving and deleting (/book?id=7), and accepting
// an invitation with the emailed token (/join?token=…). Which book the other pages show is
// chosen in the header (ui/book_switcher.js).

import { api, book as shownBook } from "../api.js";
import { me } from "../auth.js";
import { h, replace, srOnly } from "../dom.js";
import { date } from "../format.js";
import { go, href, route } from "../router.js";
import { currencies } from "../store.js";
import { booksChanged, chooseBook, currentBook, forgetMembers, books as listBooks } from "../ui/book_switcher.js";
import { pagedRows } from "../ui/books_paging.js";
import { confirmDialog, openDialog } from "../ui/dialog.js";
import { field, formAlert, onSubmit } from "../ui/forms.js";
import { emptyState, pageHeader } from "../ui/states.js";
import { dataTable } from "../ui/table.js";
import { toast } from "../ui/toast.js";

export const ROLES = [
  { value: "owner", label: "Owner" },
  { value: "editor", label: "Editor" },
  { value: "viewer", label: "Viewer" },
];
const roleLabel = (role) => ROLES.find((r) => r.value === role)?.label || role;

async function currencyOptions() {
  return (await currencies()).map((c) => ({ value: c.code, label: `${c.code} · ${c.name}` }));
}

route({
  path: "/books",
  title: "Books",
  render: async () => {
    const [rows, shown, user] = await Promise.all([listBooks(), currentBook(), me()]);
    const create = h("button", { type: "button", class: "btn btn-primary", onClick: () => createBook(user) }, "New shared book");
    const join = h("a", { class: "btn btn-secondary", href: href("/join") }, "Accept an invitation");
    const table = dataTable({
      caption: "Your books",
      columns: [
        {
          label: "Book",
          cell: (b) =>
            h(
              "div",
              {},
              h("p", { class: "font-medium" }, b.name),
              h("p", { class: "muted text-xs" }, b.kind === "personal" ? "Personal: only you" : `Shared · you are ${roleLabel(b.role).toLowerCase()}`),
            ),
        },
        { label: "Currency", class: "hidden sm:table-cell", cell: (b) => b.base_currency },
        {
          label: "Shown",
          cell: (b) =>
            b.id === shown?.id
              ? h("span", { class: "badge badge-ok" }, "Shown now")
              : h(
                  "button",
                  { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Show ${b.name}`, onClick: () => chooseBook(b.kind === "personal" ? null : b.id, { path: "/dashboard" }) },
                  "Show",
                ),
        },
        {
          label: "Manage",
          cell: (b) => h("a", { class: "link text-sm", href: href("/book", { id: b.id }) }, b.kind === "personal" ? "Settings" : "Settings & members", srOnly(` of ${b.name}`)),
        },
      ],
      rows,
    });
    const shared = rows.filter((b) => b.kind === "shared");
    return h(
      "div",
      {},
      pageHeader("Books", {
        subtitle: "Your personal book and the books you share. The book picker at the top decides which one every page shows.",
        actions: [join, create],
      }),
      h("section", { class: "card", "aria-label": "Your books" }, table.el),
      shared.length
        ? null
        : h(
            "div",
            { class: "mt-6" },
            emptyState({
              title: "No shared books yet",
              body: "Create a shared book for a household, a trip or a flat, then invite people by email. Expenses in it are split between its members.",
            }),
          ),
    );
  },
});

function createBook(user) {
  const formId = "book-create-form";
  const form = h("form", { id: formId, class: "grid gap-4" });
  const dialog = openDialog({
    title: "New shared book",
    description: "You become its owner and can invite people next.",
    body: form,
    footer: [
      h("button", { type: "button", class: "btn btn-secondary", onClick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", form: formId, class: "btn btn-primary" }, "Create book"),
    ],
  });
  currencyOptions().then((options) => {
    form.append(
      formAlert(),
      field({ name: "name", label: "Name", required: true, maxlength: "100", autocomplete: "off", hint: "For example “Flat 3B” or “Summer trip”." }),
      field({ name: "base_currency", label: "Currency", type: "select", options, value: user.base_currency, hint: "Balances and reports of the book are in this currency." }),
    );
    form.querySelector("[name=name]").focus();
  });
  onSubmit(
    form,
    (values) => api("/books/", { method: "POST", body: { name: values.name, base_currency: values.base_currency } }),
    (created) => {
      dialog.close();
      toast(`“${created.name}” created`);
      booksChanged();
      chooseBook(created.id, { redraw: false });
      go("/book", { id: created.id });
    },
  );
}

route({
  path: "/book",
  title: "Book settings",
  render: async (ctx) => {
    const id = Number(ctx.params.get("id"));
    if (!id) {
      return emptyState({ title: "No book chosen", body: "Open a book from the list of your books.", action: h("a", { class: "btn btn-primary", href: href("/books") }, "Your books") });
    }
    const [book, user] = await Promise.all([api(`/books/${id}/`, { signal: ctx.signal }), me()]);
    const owner = book.role === "owner";
    const header = pageHeader(book.name, {
      subtitle: book.kind === "personal" ? "Your personal book: only you see it." : `Shared book · you are ${roleLabel(book.role).toLowerCase()}.`,
      actions: [h("a", { class: "btn btn-secondary", href: href("/books") }, "All books")],
    });
    if (book.kind === "personal") {
      return h(
        "div",
        {},
        header,
        h(
          "section",
          { class: "card" },
          h("h2", { class: "card-title" }, "Settings"),
          h("p", { class: "text-sm" }, `Currency ${book.base_currency}; budget months start on day ${book.month_start_day}.`),
          h("p", { class: "muted mt-2 text-sm" }, "Change them in ", h("a", { class: "link", href: href("/settings") }, "Settings"), ". To share expenses, create a shared book from the list of your books."),
        ),
      );
    }
    const people = (await api(`/books/${id}/members/`, { query: { page_size: 200 }, signal: ctx.signal })).results;
    return h(
      "div",
      { class: "grid gap-6" },
      header,
      settingsSection(book, people, owner, ctx),
      membersSection(book, user, owner, ctx),
      owner ? invitationsSection(book, ctx) : null,
      leaveSection(book, user, owner, people),
    );
  },
});

function settingsSection(book, people, owner, ctx) {
  const section = h("section", { class: "card", "aria-labelledby": "book-settings-title" }, h("h2", { id: "book-settings-title", class: "card-title" }, "Settings"));
  const split = book.default_split;
  const splitText =
    split?.mode === "shares"
      ? `By shares: ${split.parts.map((p) => `${people.find((m) => m.user === p.user)?.username || `#${p.user}`} ${p.value}`).join(", ")}`
      : "Equally between the members";
  if (!owner) {
    section.append(
      h(
        "dl",
        { class: "grid gap-2 text-sm sm:grid-cols-2" },
        h("div", {}, h("dt", { class: "muted" }, "Currency"), h("dd", {}, book.base_currency)),
        h("div", {}, h("dt", { class: "muted" }, "Budget months start on day"), h("dd", {}, String(book.month_start_day))),
        h("div", { class: "sm:col-span-2" }, h("dt", { class: "muted" }, "Imported and recurring expenses are split"), h("dd", {}, splitText)),
      ),
      h("p", { class: "muted mt-3 text-sm" }, "Only an owner can change these."),
    );
    return section;
  }
  const form = h("form", { id: "book-settings-form", class: "grid gap-4 sm:grid-cols-3" });
  const weights = h(
    "div",
    { class: "grid gap-3 sm:col-span-3 sm:grid-cols-3", hidden: split?.mode !== "shares" },
    people.map((m) =>
      field({
        name: `weight_${m.user}`,
        label: `Shares for ${m.username}`,
        inputmode: "decimal",
        autocomplete: "off",
        value: split?.mode === "shares" ? (split.parts.find((p) => p.user === m.user)?.value ?? "") : "1",
      }),
    ),
  );
  const splitMode = field({
    name: "split_mode",
    label: "Imported and recurring expenses are split",
    type: "select",
    value: split?.mode === "shares" ? "shares" : "equal",
    options: [
      { value: "equal", label: "Equally between the members" },
      { value: "shares", label: "By fixed shares" },
    ],
    class: "sm:col-span-3",
  });
  splitMode.querySelector("select").addEventListener("change", (event) => (weights.hidden = event.target.value !== "shares"));
  // The API names the field `default_split`: its errors show under the mode.
  splitMode.dataset.field = "default_split";
  currencyOptions().then((options) => {
    form.append(
      formAlert("sm:col-span-3"),
      field({ name: "name", label: "Name", required: true, value: book.name, maxlength: "100", autocomplete: "off" }),
      field({ name: "base_currency", label: "Currency", type: "select", options, value: book.base_currency, hint: "Changing it converts every figure of the book." }),
      field({ name: "month_start_day", label: "Budget months start on day", type: "number", min: "1", max: "28", value: String(book.month_start_day) }),
      splitMode,
      weights,
      h("div", { class: "sm:col-span-3" }, h("button", { type: "submit", class: "btn btn-primary" }, "Save settings")),
    );
  });
  onSubmit(
    form,
    (values) => {
      const body = { name: values.name, base_currency: values.base_currency, month_start_day: values.month_start_day === "" ? null : Number(values.month_start_day) };
      body.default_split =
        values.split_mode === "shares"
          ? { mode: "shares", parts: people.filter((m) => values[`weight_${m.user}`]).map((m) => ({ user: m.user, value: values[`weight_${m.user}`] })) }
          : { mode: "equal" };
      return api(`/books/${book.id}/`, { method: "PATCH", body, as: "response" }).then(async (response) => ({ queued: response.status === 202, book: await response.json() }));
    },
    ({ queued }) => {
      toast(queued ? "Settings saved. The currency change runs in the background; figures update when it is done." : "Settings saved");
      booksChanged();
      ctx.reload();
    },
  );
  section.append(form);
  return section;
}

function membersSection(book, user, owner, ctx) {
  const table = dataTable({
    caption: `Members of ${book.name}`,
    columns: [
      {
        label: "Member",
        cell: (m) => h("div", {}, h("p", { class: "font-medium" }, m.user === user.id ? `${m.username} (you)` : m.username), h("p", { class: "muted text-xs break-all" }, m.email)),
      },
      { label: "Joined", class: "hidden sm:table-cell", cell: (m) => date(m.joined_at.slice(0, 10)) },
      { label: "Role", cell: (m) => (owner ? roleSelect(book, m, ctx) : roleLabel(m.role)) },
      {
        label: "Actions",
        class: "w-px",
        cell: (m) =>
          owner && m.user !== user.id
            ? h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Remove ${m.username}`, onClick: () => removeMember(book, m, ctx) }, "Remove")
            : "",
      },
    ],
  });
  const paging = pagedRows({ path: `/books/${book.id}/members/`, add: (rows) => table.add(rows), signal: ctx.signal });
  return h(
    "section",
    { class: "card", "aria-labelledby": "book-members-title" },
    h("h2", { id: "book-members-title", class: "card-title" }, "Members"),
    h("p", { class: "muted mb-3 text-sm" }, "Owners manage the book and its members; editors add and change records; viewers only read."),
    table.el,
    paging.el,
  );
}

function roleSelect(book, member, ctx) {
  const select = h(
    "select",
    { class: "input min-h-8 w-auto py-1 text-sm", "aria-label": `Role of ${member.username}` },
    ROLES.map((r) => h("option", { value: r.value, selected: r.value === member.role }, r.label)),
  );
  select.addEventListener("change", async () => {
    select.disabled = true;
    try {
      await api(`/books/${book.id}/members/${member.user}/`, { method: "PATCH", body: { role: select.value } });
      toast(`${member.username} is now ${roleLabel(select.value).toLowerCase()}`);
      forgetMembers(book.id);
      booksChanged();
      ctx.reload(); // demoting yourself changes what this page offers
    } catch (error) {
      select.value = member.role;
      select.disabled = false;
      toast(error.message, { error: true });
    }
  });
  return select;
}

async function removeMember(book, member, ctx) {
  const ok = await confirmDialog({
    title: `Remove ${member.username}?`,
    message: `${member.username} loses access to “${book.name}”. The records they added stay in the book. A member who still owes or is owed money cannot be removed: settle up first.`,
    confirmLabel: "Remove",
    danger: true,
  });
  if (!ok) return;
  try {
    await api(`/books/${book.id}/members/${member.user}/`, { method: "DELETE" });
    toast(`${member.username} removed`);
    forgetMembers(book.id);
    ctx.reload();
  } catch (error) {
    toast(error.message, { error: true });
  }
}

function invitationsSection(book, ctx) {
  const form = h("form", { id: "invite-form", class: "grid gap-4 sm:grid-cols-[1fr_12rem_auto] sm:items-end" });
  form.append(
    formAlert("sm:col-span-3"),
    field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "off" }),
    field({ name: "role", label: "Role", type: "select", options: ROLES, value: "editor" }),
    h("div", {}, h("button", { type: "submit", class: "btn btn-primary w-full sm:w-auto" }, "Send invitation")),
  );
  const table = dataTable({
    caption: "Invitations, newest first",
    columns: [
      { label: "Email", cell: (i) => h("span", { class: "break-all" }, i.email) },
      { label: "Role", class: "hidden sm:table-cell", cell: (i) => roleLabel(i.role) },
      { label: "Status", cell: (i) => h("span", { class: `badge ${i.status === "pending" ? "badge-warn" : i.status === "accepted" ? "badge-ok" : "badge-exceeded"}` }, i.status) },
      { label: "Expires", class: "hidden md:table-cell", cell: (i) => date(i.expires_at.slice(0, 10)) },
      {
        label: "Actions",
        class: "w-px",
        cell: (i) => (i.status === "pending" ? h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Revoke the invitation of ${i.email}`, onClick: () => revoke(book, i, ctx) }, "Revoke") : ""),
      },
    ],
  });
  const list = h("div", {});
  const paging = pagedRows({
    path: `/books/${book.id}/invitations/`,
    signal: ctx.signal,
    add: (rows, page) => {
      if (page.count === 0) replace(list, h("p", { class: "muted text-sm" }, "No invitations yet."));
      else {
        if (!table.el.isConnected) replace(list, table.el);
        table.add(rows);
      }
    },
  });
  onSubmit(
    form,
    (values) => api(`/books/${book.id}/invitations/`, { method: "POST", body: { email: values.email, role: values.role } }),
    (invitation) => {
      toast(`Invitation emailed to ${invitation.email}`);
      ctx.reload();
    },
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "book-invitations-title" },
    h("h2", { id: "book-invitations-title", class: "card-title" }, "Invite people"),
    h("p", { class: "muted mb-3 text-sm" }, "They get an email with a one-time token, valid 7 days. Signed in with that address, they open Books › Accept an invitation and paste it."),
    form,
    h("h3", { class: "mt-6 mb-2 text-sm font-semibold" }, "Invitations"),
    list,
    paging.el,
  );
}

async function revoke(book, invitation, ctx) {
  const ok = await confirmDialog({ title: "Revoke this invitation?", message: `The token sent to ${invitation.email} stops working.`, confirmLabel: "Revoke", danger: true });
  if (!ok) return;
  try {
    await api(`/books/${book.id}/invitations/${invitation.id}/`, { method: "DELETE" });
    toast("Invitation revoked");
    ctx.reload();
  } catch (error) {
    toast(error.message, { error: true });
  }
}

function leaveSection(book, user, owner, people) {
  const owners = people.filter((m) => m.role === "owner").length;
  const leave = h(
    "button",
    {
      type: "button",
      class: "btn btn-secondary",
      onClick: async () => {
        const ok = await confirmDialog({
          title: `Leave “${book.name}”?`,
          message: "You lose access to the book. The records you added stay in it. If you still owe or are owed money, settle up first.",
          confirmLabel: "Leave",
          danger: true,
        });
        if (!ok) return;
        try {
          await api(`/books/${book.id}/members/${user.id}/`, { method: "DELETE" });
          afterGone(book, `You left “${book.name}”`);
        } catch (error) {
          toast(error.message, { error: true });
        }
      },
    },
    "Leave this book",
  );
  const remove = owner
    ? h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          onClick: async () => {
            const ok = await confirmDialog({
              title: `Delete “${book.name}”?`,
              message: "The book and every record in it are deleted for everyone. This cannot be undone. Other members must leave (or be removed) first.",
              confirmLabel: "Delete the book",
              danger: true,
            });
            if (!ok) return;
            try {
              await api(`/books/${book.id}/`, { method: "DELETE" });
              afterGone(book, `“${book.name}” deleted`);
            } catch (error) {
              toast(error.message, { error: true });
            }
          },
        },
        "Delete this book",
      )
    : null;
  return h(
    "section",
    { class: "card", "aria-labelledby": "book-leave-title" },
    h("h2", { id: "book-leave-title", class: "card-title" }, "Leave or delete"),
    owner && owners === 1 ? h("p", { class: "muted mb-3 text-sm" }, "You are the only owner: make someone else an owner before you leave.") : null,
    h("div", { class: "flex flex-wrap gap-2" }, leave, remove),
  );
}

function afterGone(book, message) {
  toast(message);
  forgetMembers(book.id);
  booksChanged();
  if (shownBook() === book.id) chooseBook(null, { redraw: false });
  go("/books");
}

route({
  path: "/join",
  title: "Accept an invitation",
  render: async (ctx) => {
    const form = h("form", { id: "join-form", class: "grid max-w-xl gap-4" });
    form.append(
      formAlert(),
      field({
        name: "token",
        label: "Invitation token",
        required: true,
        autocomplete: "off",
        spellcheck: "false",
        value: ctx.params.get("token") || "",
        hint: "From the invitation email. Sign in with the address it was sent to.",
      }),
      h("div", {}, h("button", { type: "submit", class: "btn btn-primary" }, "Accept invitation")),
    );
    onSubmit(
      form,
      (values) => api("/invitations/accept/", { method: "POST", body: { token: values.token } }),
      (joined) => {
        toast(`You joined “${joined.name}”`);
        booksChanged();
        chooseBook(joined.id, { redraw: false });
        go("/shared");
      },
    );
    return h("div", {}, pageHeader("Accept an invitation", { subtitle: "Join a shared book someone invited you to." }), h("section", { class: "card" }, form));
  },
});

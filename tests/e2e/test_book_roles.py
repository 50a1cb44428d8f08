"""Membership of shared books in a real browser (SPEC §14, §18): on a book's page
(#/book?id=…) an owner changes a member's role, removes a member and deletes a book they are
alone in; a member leaves a shared book, which leaves their book picker and list; a viewer
reads a shared book's transactions and balances with no write controls offered. Every
change is checked in the database too."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from books.models import Book, Membership
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def book_picker(tab):
    """The header's book picker (desktop; the phone menu's copy is hidden)."""
    return tab.page.get_by_role("combobox", name="Book", exact=True)


def test_owner_changes_a_role_removes_a_member_and_deletes_a_lone_book(open_tab, shared_book):
    olivia = UserFactory(username="olivia")
    eddie = UserFactory(username="eddie")
    victor = UserFactory(username="victor")
    flat = shared_book(
        owner=olivia, editors=[eddie], viewers=[victor], name="Flat 3B", base_currency="EUR"
    )
    lone = shared_book(owner=olivia, name="Old trip", base_currency="EUR")

    tab = open_tab()
    tab.sign_in("olivia", DEFAULT_PASSWORD)
    tab.goto(f"#/book?id={flat.id}")
    tab.heading("Flat 3B")
    tab.settled()
    members = tab.page.get_by_role("table", name="Members of Flat 3B")
    members.get_by_role("cell", name=re.compile(r"^olivia \(you\)")).wait_for()
    # The owner's own row has a role picker but no Remove button.
    expect(members.get_by_role("button", name="Remove olivia")).to_have_count(0)

    # Viewer → editor: stored, announced, and the redrawn page shows the new role.
    role = members.get_by_role("combobox", name="Role of victor")
    expect(role).to_have_value("viewer")
    role.select_option("editor")
    tab.page.get_by_text("victor is now editor").wait_for()
    assert Membership.objects.get(book=flat, user=victor).role == "editor"
    tab.settled()
    role = tab.page.get_by_role("combobox", name="Role of victor")
    expect(role).to_have_value("editor")
    expect(role).to_be_enabled()

    # Removing eddie asks first; cancelling keeps him, confirming removes him.
    tab.page.get_by_role("button", name="Remove eddie").click()
    dialog = tab.page.get_by_role("dialog", name="Remove eddie?")
    assert "loses access to “Flat 3B”" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert Membership.objects.filter(book=flat, user=eddie).exists()
    tab.page.get_by_role("button", name="Remove eddie").click()
    dialog.get_by_role("button", name="Remove", exact=True).click()
    dialog.wait_for(state="detached")
    tab.page.get_by_text("eddie removed").wait_for()
    tab.settled()
    members = tab.page.get_by_role("table", name="Members of Flat 3B")
    members.get_by_role("combobox", name="Role of victor").wait_for()
    expect(members.get_by_role("cell", name=re.compile(r"^eddie"))).to_have_count(0)
    expect(members.get_by_role("button", name="Remove eddie")).to_have_count(0)
    assert not Membership.objects.filter(book=flat, user=eddie).exists()
    assert {m.user.username: m.role for m in Membership.objects.filter(book=flat)} == {
        "olivia": "owner",
        "victor": "editor",
    }

    # A book with no other members: deleted after a confirmation, then gone from the list.
    tab.goto(f"#/book?id={lone.id}")
    tab.heading("Old trip")
    tab.settled()
    tab.page.get_by_role("button", name="Delete this book").click()
    dialog = tab.page.get_by_role("dialog", name="Delete “Old trip”?")
    dialog.get_by_role("button", name="Delete the book").click()
    tab.heading("Books")
    tab.page.get_by_text("“Old trip” deleted").wait_for()
    tab.settled()
    books = tab.page.get_by_role("table", name="Your books")
    books.get_by_text("Flat 3B", exact=True).wait_for()
    expect(books.get_by_text("Old trip", exact=True)).to_have_count(0)
    expect(book_picker(tab).locator("option", has_text="Old trip")).to_have_count(0)
    assert not Book.objects.filter(id=lone.id).exists()
    assert Book.objects.filter(id=flat.id).exists()
    assert tab.errors == [] and tab.csp_violations() == []


def test_member_leaves_a_shared_book(open_tab, shared_book):
    olivia = UserFactory(username="olivia")
    eddie = UserFactory(username="eddie")
    flat = shared_book(owner=olivia, editors=[eddie], name="Flat 3B", base_currency="EUR")

    tab = open_tab()
    tab.sign_in("eddie", DEFAULT_PASSWORD)
    picker = book_picker(tab)
    picker.locator("option", has_text="Flat 3B").wait_for(state="attached")
    picker.select_option(label="Flat 3B")  # the shown book is the one left below
    expect(picker).to_have_value(str(flat.id))
    tab.settled()

    tab.goto(f"#/book?id={flat.id}")
    tab.heading("Flat 3B")
    tab.settled()
    tab.page.get_by_text("Shared book · you are editor.").wait_for()
    # Not an owner: roles are plain text, and only leaving is offered.
    expect(tab.page.get_by_role("combobox", name=re.compile("^Role of"))).to_have_count(0)
    expect(tab.page.get_by_role("button", name="Delete this book")).to_have_count(0)
    tab.page.get_by_role("button", name="Leave this book").click()
    dialog = tab.page.get_by_role("dialog", name="Leave “Flat 3B”?")
    dialog.get_by_role("button", name="Leave", exact=True).click()
    tab.heading("Books")
    tab.page.get_by_text("You left “Flat 3B”").wait_for()
    tab.settled()

    assert not Membership.objects.filter(book=flat, user=eddie).exists()
    assert Membership.objects.filter(book=flat, user=olivia, role="owner").exists()
    books = tab.page.get_by_role("table", name="Your books")
    books.get_by_text(re.compile(r"^Personal: only you$")).wait_for()
    expect(books.get_by_text("Flat 3B", exact=True)).to_have_count(0)
    # The picker forgot the book and shows the personal one again.
    expect(picker.locator("option", has_text="Flat 3B")).to_have_count(0)
    expect(picker).to_have_value("")
    assert tab.page.evaluate("localStorage.getItem('bt.book')") is None
    assert tab.errors == [] and tab.csp_violations() == []


def test_viewer_reads_a_shared_book_without_write_controls(open_tab, shared_book):
    olivia = UserFactory(username="olivia")
    victor = UserFactory(username="victor")
    flat = shared_book(owner=olivia, viewers=[victor], name="Flat 3B", base_currency="EUR")
    client = APIClient()
    client.force_authenticate(olivia)
    created = client.post(
        f"/api/v1/books/{flat.id}/expenses/",
        {"amount": "30.00", "date": "2026-03-02", "description": "Groceries"},
        format="json",
    )
    assert created.status_code == 201, created.content

    tab = open_tab()
    tab.sign_in("victor", DEFAULT_PASSWORD)
    writes = []
    tab.page.on(
        "request",
        lambda r: (
            r.method in ("POST", "PUT", "PATCH", "DELETE")
            and "/books/" in r.url
            and writes.append(f"{r.method} {r.url}")
        ),
    )
    tab.goto("#/books")
    tab.heading("Books")
    tab.page.get_by_text("Shared · you are viewer").wait_for()
    tab.page.get_by_role("button", name="Show Flat 3B").click()
    tab.heading("Dashboard")
    expect(book_picker(tab)).to_have_value(str(flat.id))
    tab.settled()
    assert tab.page.get_by_role("button", name="Add transaction").count() == 0

    # The book's transactions are readable, with nothing to add, edit, select or move.
    tab.goto("#/transactions")
    tab.heading("Transactions")
    tab.settled()
    listed = tab.page.get_by_role("table", name="Transactions, newest first")
    listed.get_by_text("Groceries", exact=True).wait_for()
    assert "€30.00" in listed.get_by_role("row", name=re.compile("Groceries")).inner_text()
    tab.page.get_by_text("You can read this book, not change it.").wait_for()
    for control in ("Add transaction", "Edit Groceries"):
        assert tab.page.get_by_role("button", name=control).count() == 0, control
    assert tab.page.get_by_role("checkbox", name="Select Groceries").count() == 0

    # Shared expenses: balances and settle-up to read, nothing to add, record or delete.
    tab.goto("#/shared")
    tab.heading("Shared expenses")
    tab.settled()
    tab.page.get_by_text("You can read this book, not change it.", exact=False).wait_for()
    tab.page.get_by_text("You pay olivia €15.00").wait_for()
    balances = tab.page.locator("[data-balances]")
    assert "-€15.00" in balances.get_by_role("row", name=re.compile(r"victor \(you\)")).inner_text()
    tab.page.get_by_text("No payments recorded yet.", exact=False).wait_for()
    for name in ("Add shared expense", "Record a payment", re.compile("^Record this settlement")):
        expect(tab.page.get_by_role("button", name=name)).to_have_count(0)

    # The book's page: settings read-only, roles as text, no invitations, only leaving.
    tab.goto(f"#/book?id={flat.id}")
    tab.heading("Flat 3B")
    tab.settled()
    tab.page.get_by_text("Only an owner can change these.").wait_for()
    members = tab.page.get_by_role("table", name="Members of Flat 3B")
    members.get_by_role("cell", name=re.compile(r"^victor \(you\)")).wait_for()
    assert "Viewer" in members.get_by_role("row", name=re.compile("victor")).inner_text()
    expect(tab.page.get_by_role("combobox", name=re.compile("^Role of"))).to_have_count(0)
    expect(tab.page.get_by_role("button", name=re.compile("^Remove "))).to_have_count(0)
    expect(tab.page.get_by_role("button", name="Save settings")).to_have_count(0)
    expect(tab.page.get_by_role("heading", name="Invite people")).to_have_count(0)
    expect(tab.page.get_by_role("button", name="Delete this book")).to_have_count(0)
    tab.page.get_by_role("button", name="Leave this book").wait_for()

    assert writes == []
    assert Membership.objects.get(book=flat, user=victor).role == "viewer"
    assert tab.errors == [] and tab.csp_violations() == []

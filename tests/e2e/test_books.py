"""Books, members, shared expenses and insights in a real browser (SPEC §14–§16, §18): a
user invites a second one by email, who accepts in their own browser; the first adds a
split expense with the split editor (live sums); balances and settle-up agree for both and
with the API; a suggested settlement is recorded and deleted. Then axe-core on each of
these pages, desktop and phone, light and dark, with screenshots (E2E_SCREENSHOTS)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from rest_framework.test import APIClient

from books.models import Book, Membership
from books.services import book_create
from expenses.models import Expense
from splits.models import Settlement
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def api_get(user, path: str) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response.json()


def test_invite_accept_split_and_settle_up_agree_for_both_members(open_tab):
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")

    a = open_tab()
    a.sign_in("alice", DEFAULT_PASSWORD)
    a.goto("#/books")
    a.heading("Books")
    a.page.get_by_role("button", name="New shared book").click()
    dialog = a.page.get_by_role("dialog", name="New shared book")
    dialog.get_by_label("Name").fill("Flat 3B")
    dialog.get_by_label("Currency").select_option("EUR")
    dialog.get_by_role("button", name="Create book").click()
    a.heading("Flat 3B")
    book = Book.objects.get(name="Flat 3B")
    assert (book.kind, book.base_currency) == ("shared", "EUR")
    assert Membership.objects.get(book=book, user=alice).role == "owner"

    # The invitation: a wrong address is refused next to its field, then bob is invited.
    invite = a.page.locator("#invite-form")
    invite.get_by_label("Email").fill("not-an-address")
    invite.get_by_role("button", name="Send invitation").click()
    invite.locator("[data-field=email] .field-error").wait_for()
    invite.get_by_label("Email").fill("bob@example.com")
    invite.get_by_role("button", name="Send invitation").click()
    a.page.get_by_role("cell", name="bob@example.com", exact=True).wait_for()
    assert "pending" in a.page.get_by_role("row", name=re.compile("bob@example.com")).inner_text()
    token = re.search(r"token: (\S+)", mail.outbox[-1].body).group(1)
    assert mail.outbox[-1].to == ["bob@example.com"]

    # Bob, in his own browser (a phone), accepts with the emailed token.
    b = open_tab("phone")
    b.sign_in("bob", DEFAULT_PASSWORD)
    b.goto("#/join?token=wrong-token")
    b.heading("Accept an invitation")
    b.page.get_by_role("button", name="Accept invitation").click()
    refused = b.page.locator("#join-form [data-form-alert]")
    refused.wait_for()
    assert "invitation" in refused.inner_text().lower()
    b.goto(f"#/join?token={token}")
    b.page.get_by_label("Invitation token").fill(token)
    b.page.get_by_role("button", name="Accept invitation").click()
    b.heading("Shared expenses")
    assert Membership.objects.get(book=book, user=bob).role == "editor"
    b.page.get_by_text("Everyone is settled up").wait_for()

    # Alice sees bob among the members, then adds a split expense from the shared page.
    a.page.reload()
    a.page.get_by_role("cell", name=re.compile("^bob")).first.wait_for()
    a.page.get_by_role("link", name="Shared", exact=True).click()
    a.heading("Shared expenses")
    expenses = []
    a.page.on(
        "request", lambda r: "/expenses/" in r.url and r.method == "POST" and expenses.append(r.url)
    )
    a.page.get_by_role("button", name="Add shared expense").click()
    dialog = a.page.get_by_role("dialog", name="Add a transaction")
    dialog.get_by_label("Amount (required)").fill("90")
    dialog.get_by_label("Description").fill("Groceries")
    assert dialog.get_by_label("Paid by").input_value() == str(alice.id)
    status = dialog.locator("[data-split-status]")
    assert "Split equally between 2 members. About €45.00 each." in status.inner_text()
    dialog.get_by_label("Exact amounts").check()
    dialog.get_by_label("Amount for alice").fill("30")
    dialog.get_by_label("Amount for bob").fill("50")
    assert status.inner_text() == (
        "The amounts add up to €80.00 of €90.00: €10.00 still to assign."
    )
    dialog.get_by_role("button", name="Save").click()  # refused here, nothing is sent
    error = dialog.locator("[data-field=split] .field-error")
    error.wait_for()
    assert "€10.00 still to assign" in error.inner_text()
    assert expenses == []
    dialog.get_by_label("Amount for bob").fill("60")
    assert status.inner_text() == "The amounts add up to €90.00."
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")
    assert expenses and all(f"/books/{book.id}/expenses/" in url for url in expenses)

    expense = Expense.objects.get(description="Groceries")
    assert (expense.book_id, expense.paid_by_id, expense.amount) == (
        book.id,
        alice.id,
        Decimal("90.00"),
    )
    api = api_get(alice, f"/api/v1/books/{book.id}/balances/")
    by_name = {row["username"]: row for row in api["members"]}
    assert (by_name["alice"]["balance"], by_name["bob"]["balance"]) == ("60.00", "-60.00")
    transfers = api_get(bob, f"/api/v1/books/{book.id}/settle-up/")["transfers"]
    assert transfers == [{"from": bob.id, "to": alice.id, "amount": "60.00"}]

    # Both see the API's figures: alice is owed €60.00, bob owes it, one payment settles it.
    a.page.get_by_text("bob pays you €60.00").wait_for()
    balances = a.page.locator("[data-balances]")
    assert "€60.00" in balances.get_by_role("row", name=re.compile("alice")).inner_text()
    assert "-€60.00" in balances.get_by_role("row", name=re.compile("bob")).inner_text()
    b.page.reload()
    b.page.get_by_text("You pay alice €60.00").wait_for()
    assert "-€60.00" in b.page.locator("[data-balances]").inner_text()

    b.page.get_by_role("button", name="Record this settlement: You pay alice €60.00").click()
    b.page.get_by_role("dialog", name="Record this settlement?").get_by_role(
        "button", name="Record settlement"
    ).click()
    b.page.get_by_text("Everyone is settled up").wait_for()
    settlement = Settlement.objects.get(book=book)
    assert (settlement.from_user_id, settlement.to_user_id, settlement.amount) == (
        bob.id,
        alice.id,
        Decimal("60.00"),
    )
    assert api_get(alice, f"/api/v1/books/{book.id}/settle-up/")["transfers"] == []

    # Alice sees the payment and deletes it: the debt is back, for her and in the API.
    a.page.reload()
    payments = a.page.locator("[data-settlements]")
    payments.get_by_text("bob → You").wait_for()
    payments.get_by_role("button", name=re.compile("^Delete the payment of €60.00")).click()
    a.page.get_by_role("dialog", name="Delete this payment?").get_by_role(
        "button", name="Delete"
    ).click()
    a.page.get_by_text("bob pays you €60.00").wait_for()
    assert not Settlement.objects.filter(book=book).exists()
    assert a.errors == [] and b.errors == []
    assert a.csp_violations() == [] and b.csp_violations() == []


def still(tab) -> None:
    """Waits for colour transitions (after switching light/dark) to end before axe measures."""
    tab.page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running')"
    )


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_book_pages_pass_axe_light_and_dark(open_tab, viewport):
    owner = UserFactory(username="owner")
    member = UserFactory(username="member")
    book = book_create(user=owner, name="Trip", base_currency="EUR")
    Membership.objects.create(book=book, user=member, role="viewer")
    client = APIClient()
    client.force_authenticate(owner)
    created = client.post(
        f"/api/v1/books/{book.id}/expenses/",
        {"amount": "40.00", "date": "2026-03-02", "description": "Train tickets"},
        format="json",
    )
    assert created.status_code == 201, created.content

    tab = open_tab(viewport)
    tab.sign_in("owner", DEFAULT_PASSWORD)
    pages = [
        ("books", "#/books", "Books"),
        ("book-settings", f"#/book?id={book.id}", "Trip"),
        ("join", "#/join", "Accept an invitation"),
        ("insights", "#/insights", "Insights"),
        ("shared", "#/shared", "Shared expenses"),
    ]
    # The personal book first: its Shared page explains and offers the shared book.
    tab.goto("#/shared")
    tab.page.get_by_role("button", name="Show Trip").click()
    tab.page.get_by_text("member pays you €20.00").wait_for()
    problems = []
    for dark in (False, True):
        look = f"{viewport}-{'dark' if dark else 'light'}"
        tab.page.emulate_media(color_scheme="dark" if dark else "light")
        for name, route, heading in pages:
            tab.goto(route)
            tab.heading(heading)
            tab.settled()
            still(tab)
            problems.extend(f"{look} {name}: {v}" for v in tab.axe())
            tab.shot(f"{name}-{look}")
        tab.page.get_by_role("button", name="Add shared expense").click()
        tab.page.get_by_role("dialog", name="Add a transaction").locator(
            "[data-split-editor]"
        ).wait_for()
        still(tab)
        problems.extend(f"{look} split editor: {v}" for v in tab.axe())
        tab.shot(f"split-editor-{look}")
        tab.page.keyboard.press("Escape")
    assert problems == [], "\n".join(problems)
    assert tab.errors == [] and tab.csp_violations() == []

"""Bank sync end to end through the API against a fake SimpleFIN Bridge (SPEC §17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from books.models import Membership, Role
from budgets.models import Budget
from categories.tests.factories import RuleFactory
from connections.models import Connection, ConnectionAccount
from connections.services import WINDOW_DAYS
from expenses.models import Expense
from imports.models import ImportBatch
from income.models import Income
from notifications.models import Notification

from .conftest import URL, account_id, map_account

pytestmark = pytest.mark.django_db


def posted_day(days_ago: float):
    return (datetime.now(UTC) - timedelta(days=days_ago)).date()


def test_connect_map_and_sync_into_a_personal_and_a_shared_book(
    auth_client, user, bridge, connect, sync, shared_book
):
    household = shared_book(owner=user, name="Household")
    coffee = RuleFactory(user=user, value="coffee")
    groceries = RuleFactory(user=user, book=household, value="grocer")
    bridge.add_transaction(
        "ACT-checking",
        "T1",
        days_ago=3,
        amount="-4.50",
        description="Blue Bottle Coffee",
        payee="Blue Bottle",
    )
    bridge.add_transaction(
        "ACT-checking", "T2", days_ago=5, amount="2500.00", description="Payroll"
    )
    bridge.add_transaction(
        "ACT-card", "C1", days_ago=2, amount="-82.10", description="Corner Grocer"
    )

    connection = connect(name="My bank")
    assert connection["name"] == "My bank"
    assert connection["status"] == "active" and connection["sync_state"] == "idle"
    listed = {a["remote_id"]: a for a in connection["accounts"]}
    assert set(listed) == {"ACT-checking", "ACT-card"}
    assert listed["ACT-checking"]["balance"] == "1520.35"
    assert listed["ACT-checking"]["org_name"] == "Test Bank"
    assert all(a["book"] is None for a in listed.values())
    # Creating lists the accounts only: no transaction was asked for.
    assert bridge.transaction_requests() == []

    mapped = map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    assert mapped["book"] == user.personal_book.pk
    map_account(auth_client, connection, "ACT-card", household.pk)

    after = sync(connection["id"])
    assert after["status"] == "active" and after["sync_state"] == "idle"
    assert after["last_error"] == "" and after["last_success_at"] is not None
    summary = after["last_sync"]
    assert (summary["expenses"], summary["incomes"], summary["rejected"]) == (2, 1, 0)
    assert summary["accounts"] == 2 and len(summary["imports"]) == 2

    coffee_expense = Expense.objects.get(book=user.personal_book)
    assert coffee_expense.amount == Decimal("4.50") and coffee_expense.currency == "USD"
    assert coffee_expense.description == "Blue Bottle Coffee"
    assert coffee_expense.merchant == "Blue Bottle"
    assert coffee_expense.category == coffee.category  # the personal book's rule
    assert coffee_expense.date == posted_day(3)
    assert coffee_expense.import_fitid == "simplefin:ACT-checking:T1"
    salary = Income.objects.get(book=user.personal_book)
    assert salary.amount == Decimal("2500.00") and salary.date == posted_day(5)
    grocer = Expense.objects.get(book=household)
    assert grocer.category == groceries.category  # the shared book's own rule
    assert grocer.user == user

    # Each account's import is a batch in its book's /imports/, and can be undone.
    batches = auth_client.get("/api/v1/imports/").json()["results"]
    assert [(b["format"], b["status"]) for b in batches] == [("simplefin", "committed")]
    shared = auth_client.get(f"/api/v1/books/{household.pk}/imports/").json()["results"]
    assert len(shared) == 1
    assert auth_client.delete(f"/api/v1/imports/{batches[0]['id']}/").status_code == 200
    assert not Expense.objects.filter(book=user.personal_book).exists()


def test_a_second_sync_imports_nothing_new_though_the_windows_overlap(
    auth_client, user, bridge, connect, sync
):
    bridge.add_transaction("ACT-checking", "T1", days_ago=2, amount="-10.00", description="Lunch")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    first = sync(connection["id"])
    assert first["last_sync"]["expenses"] == 1

    second = sync(connection["id"])
    assert second["last_sync"]["expenses"] == 0
    assert second["last_sync"]["duplicates"] == 1  # fetched again (overlap), not stored
    assert second["last_sync"]["imports"] == []  # no empty batch left behind
    assert Expense.objects.filter(user=user).count() == 1
    assert ImportBatch.objects.filter(book=user.personal_book).count() == 1
    # The second sync started SIMPLEFIN_OVERLAP_DAYS before the first one's end.
    start = int(bridge.transaction_requests()[-1]["params"]["start-date"][0])
    synced_until = ConnectionAccount.objects.get(remote_id="ACT-checking").synced_until
    assert synced_until.timestamp() - start == pytest.approx(10 * 86400, abs=2)

    # A late posting inside the overlap arrives with the next sync.
    bridge.add_transaction("ACT-checking", "T2", days_ago=4, amount="-7.00", description="Taxi")
    third = sync(connection["id"])
    assert third["last_sync"]["expenses"] == 1
    assert Expense.objects.filter(user=user).count() == 2


def test_a_pending_transaction_imports_once_when_posted(auth_client, user, bridge, connect, sync):
    bridge.add_transaction(
        "ACT-checking", "P1", days_ago=1, amount="-30.00", description="Hotel", pending=True
    )
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    first = sync(connection["id"])
    assert first["last_sync"]["pending"] == 1 and first["last_sync"]["expenses"] == 0
    assert not Expense.objects.exists()

    # Posted under its final id.
    bridge.remove_transaction("ACT-checking", "P1")
    bridge.add_transaction("ACT-checking", "F1", days_ago=0.5, amount="-30.00", description="Hotel")
    second = sync(connection["id"])
    assert second["last_sync"]["pending"] == 0 and second["last_sync"]["expenses"] == 1
    third = sync(connection["id"])
    assert third["last_sync"]["expenses"] == 0
    assert Expense.objects.get().import_fitid == "simplefin:ACT-checking:F1"


def test_more_than_sixty_days_of_history_arrives_across_several_requests(
    auth_client, user, bridge, connect, sync, settings
):
    settings.SIMPLEFIN_INITIAL_DAYS = 150
    bridge.max_days = 90  # the bridge refuses longer ranges
    for days_ago, txn_id in ((140, "OLD"), (75, "MID"), (3, "NEW")):
        bridge.add_transaction(
            "ACT-checking", txn_id, days_ago=days_ago, amount="-1.00", description=txn_id
        )
    bridge.add_transaction("ACT-checking", "TOO-OLD", days_ago=160, amount="-1.00", description="x")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)

    after = sync(connection["id"])
    assert after["status"] == "active", after["last_error"]
    assert sorted(Expense.objects.values_list("description", flat=True)) == ["MID", "NEW", "OLD"]
    windows = [
        (int(r["params"]["start-date"][0]), int(r["params"]["end-date"][0]))
        for r in bridge.transaction_requests()
    ]
    assert len(windows) == 3  # 150 days in windows of at most 60
    assert all(end - start <= WINDOW_DAYS * 86400 for start, end in windows)
    assert all(a[1] == b[0] for a, b in pairwise(windows))  # contiguous
    assert after["last_sync"]["requests"] == 4  # the account list, then three windows


def test_only_mapped_accounts_are_pulled(auth_client, user, bridge, connect, sync):
    bridge.add_transaction("ACT-checking", "T1", days_ago=1, amount="-1.00", description="a")
    bridge.add_transaction("ACT-card", "C1", days_ago=1, amount="-2.00", description="b")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    sync(connection["id"])
    pulled = [r["params"]["account"] for r in bridge.transaction_requests()]
    assert pulled and all(accounts == ["ACT-checking"] for accounts in pulled)
    assert list(Expense.objects.values_list("description", flat=True)) == ["a"]

    # Nothing mapped: the sync lists accounts (balances) and pulls nothing.
    map_account(auth_client, connection, "ACT-checking", None)
    before = len(bridge.transaction_requests())
    after = sync(connection["id"])
    assert after["status"] == "active" and len(bridge.transaction_requests()) == before


def test_a_bad_row_is_skipped_and_counted_the_rest_imports(
    auth_client, user, bridge, connect, sync
):
    bridge.add_transaction("ACT-checking", "OK", days_ago=1, amount="-5.00", description="fine")
    bridge.add_transaction("ACT-checking", "NAN", days_ago=1, amount="abc", description="broken")
    bridge.add_transaction("ACT-checking", "ZERO", days_ago=1, amount="0.00", description="zero")
    bridge.add_transaction("ACT-checking", "MILLS", days_ago=1, amount="-1.005", description="x")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    after = sync(connection["id"])
    summary = after["last_sync"]
    assert summary["expenses"] == 1 and summary["rejected"] == 3
    assert {e["transaction"] for e in summary["errors"]} == {"NAN", "ZERO", "MILLS"}
    assert after["status"] == "active"
    assert list(Expense.objects.values_list("description", flat=True)) == ["fine"]


def test_a_synced_row_like_a_hand_entered_record_is_skipped(
    auth_client, user, bridge, connect, sync
):
    day = posted_day(2).isoformat()
    auth_client.post(
        "/api/v1/expenses/", {"amount": "12.00", "date": day, "description": "Pizza Place"}
    )
    bridge.add_transaction(
        "ACT-checking", "T1", days_ago=2, amount="-12.00", description="PIZZA PLACE"
    )
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    after = sync(connection["id"])
    assert after["last_sync"]["possible_duplicates"] == 1
    assert Expense.objects.count() == 1


def test_a_budget_alert_fires_from_a_synced_expense(auth_client, user, bridge, connect, sync):
    today = datetime.now(UTC).date()
    Budget.objects.create(
        user=user, month=today.replace(day=1), scope="overall", amount=Decimal("100")
    )
    bridge.add_transaction("ACT-checking", "T1", days_ago=0, amount="-120.00", description="TV")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    after = sync(connection["id"])
    assert after["last_sync"]["expenses"] == 1, after
    assert Notification.objects.filter(user=user, kind="budget_exceeded").count() == 1


def test_a_book_the_user_can_no_longer_write_to_is_an_error_of_that_account(
    auth_client, user, other_user, bridge, connect, sync, shared_book
):
    theirs = shared_book(owner=other_user, editors=[user], name="Flat")
    bridge.add_transaction("ACT-checking", "T1", days_ago=1, amount="-1.00", description="mine")
    bridge.add_transaction("ACT-card", "C1", days_ago=1, amount="-2.00", description="flat")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    map_account(auth_client, connection, "ACT-card", theirs.pk)
    Membership.objects.filter(book=theirs, user=user).update(role=Role.VIEWER)

    after = sync(connection["id"])
    assert after["status"] == "active"  # the other account still synced
    accounts = {a["remote_id"]: a for a in after["accounts"]}
    assert accounts["ACT-card"]["last_error_code"] == "book_not_writable"
    assert accounts["ACT-checking"]["last_error_code"] == ""
    assert list(Expense.objects.values_list("description", flat=True)) == ["mine"]
    pulled = [r["params"]["account"] for r in bridge.transaction_requests()]
    assert pulled and all(accounts == ["ACT-checking"] for accounts in pulled)
    sync(connection["id"])  # the same problem again: told once
    told = Notification.objects.filter(user=user, kind="connection_error")
    assert told.count() == 1 and told.get().data["account"] == accounts["ACT-card"]["id"]


def test_an_account_in_a_custom_currency_cannot_be_imported(
    auth_client, user, bridge, connect, sync
):
    bridge.add_account("ACT-miles", name="Miles", currency="https://miles.example/currency")
    connection = connect()
    response = auth_client.patch(
        f"{URL}{connection['id']}/accounts/{account_id(connection, 'ACT-miles')}/",
        {"book": user.personal_book.pk},
        format="json",
    )
    assert response.status_code == 400 and "ISO 4217" in response.json()["book"][0]
    # Mapped while it was in USD, then the bridge changed it: an error of that account.
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    bridge.accounts[0]["currency"] = "https://bank.example/points"
    after = sync(connection["id"])
    accounts = {a["remote_id"]: a for a in after["accounts"]}
    assert accounts["ACT-checking"]["last_error_code"] == "currency_unsupported"


def test_the_scheduled_job_syncs_due_connections_and_skips_revoked_ones(
    auth_client, user, bridge, connect, settings, django_capture_on_commit_callbacks
):
    from core.jobs import registered_jobs

    job = next(j for j in registered_jobs() if j.name == "sync_connections")
    bridge.add_transaction("ACT-checking", "T1", days_ago=1, amount="-1.00", description="a")
    due = connect()
    map_account(auth_client, due, "ACT-checking", user.personal_book.pk)
    revoked = connect()
    Connection.objects.filter(pk=revoked["id"]).update(status="revoked")

    with django_capture_on_commit_callbacks(execute=True):
        assert job.func() == 1
    assert Expense.objects.count() == 1
    assert Connection.objects.get(pk=due["id"]).last_success_at is not None
    assert Connection.objects.get(pk=revoked["id"]).last_sync_at is None
    assert job.func() == 0  # synced just now: not due again
    Connection.objects.filter(pk=due["id"]).update(
        last_sync_at=datetime.now(UTC) - timedelta(hours=settings.SIMPLEFIN_SYNC_INTERVAL_HOURS)
    )
    assert job.func() == 1


def test_a_sync_already_queued_or_running_is_a_409(auth_client, user, bridge, connect):
    connection = connect()
    Connection.objects.filter(pk=connection["id"]).update(
        sync_state="running", sync_requested_at=datetime.now(UTC)
    )
    response = auth_client.post(f"{URL}{connection['id']}/sync/")
    assert response.status_code == 409 and response.json()["code"] == "sync_in_progress"
    # A sync that has been "running" for hours (its worker died) no longer blocks.
    Connection.objects.filter(pk=connection["id"]).update(
        sync_requested_at=datetime.now(UTC) - timedelta(hours=2)
    )
    assert auth_client.post(f"{URL}{connection['id']}/sync/").status_code == 202


def test_a_sync_announces_its_import_once_per_batch(auth_client, user, bridge, connect, sync):
    from core.events import register_listener, unregister_listener

    heard = []

    def listener(*, book_id, event, data):
        heard.append((book_id, event, data["format"], data["expenses"]))

    bridge.add_transaction("ACT-checking", "T1", days_ago=1, amount="-1.00", description="a")
    bridge.add_transaction("ACT-checking", "T2", days_ago=2, amount="-2.00", description="b")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    register_listener(listener)
    try:
        sync(connection["id"])
        sync(connection["id"])  # nothing new: nothing announced
    finally:
        unregister_listener(listener)
    events = [h for h in heard if h[1].startswith("import.")]
    assert events == [(user.personal_book.pk, "import.committed", "simplefin", 2)]

"""The account pages of the web app in a real browser (SPEC §18, docs/webapp.md, "Account
pages"): settings (profile, budget month, notification preferences, password, deleting the
account), notifications (unread filter, mark read, the bell's count), webhooks (create
with the secret shown once, ping a receiver on 127.0.0.1, the delivery log) and bank
connections (add through a fake SimpleFIN Bridge on 127.0.0.1, map, sync, transactions
imported), and axe-core on each page, desktop and phone, light and dark."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from connections.models import Connection
from connections.tests.fake_simplefin import FakeBridge
from expenses.models import Expense
from income.models import Income
from notifications.models import Notification
from notifications.services import preferences_for
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from webhooks.tests.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 5.0
    with Receiver() as running:
        yield running


@pytest.fixture
def bridge(settings):
    settings.SIMPLEFIN_ALLOW_PRIVATE = True
    settings.SIMPLEFIN_TIMEOUT_SECONDS = 5
    fake = FakeBridge().start()
    fake.add_account("ACT-checking", name="Everyday checking", balance="1520.35")
    fake.add_transaction("ACT-checking", "T-1", days_ago=2, amount="-42.10", description="GROCER")
    fake.add_transaction("ACT-checking", "T-2", days_ago=1, amount="2500.00", description="PAYROLL")
    yield fake
    fake.stop()


def notify(user, title, kind="budget_warn"):
    return Notification.objects.create(user=user, kind=kind, title=title, body=f"About {title}.")


def test_settings_month_start_day_and_notification_preferences_are_saved(open_tab):
    user = UserFactory(username="planner")
    tab = open_tab()
    tab.sign_in("planner", DEFAULT_PASSWORD)
    tab.page.get_by_role("link", name="Settings", exact=True).first.click()
    tab.heading("Settings")
    profile = tab.page.get_by_role("region", name="Profile")
    day = profile.get_by_label("Budget month starts on day")
    day.fill("31")
    profile.get_by_role("button", name="Save profile").click()
    error = profile.locator("[data-field=month_start_day] .field-error")
    error.wait_for()  # the API's message, next to the field
    assert "28" in error.inner_text()
    assert day.get_attribute("aria-invalid") == "true"
    day.fill("25")
    profile.get_by_label("Timezone").select_option("Europe/Berlin")
    profile.get_by_role("button", name="Save profile").click()
    tab.page.get_by_text("Settings saved.").wait_for()

    prefs = tab.page.get_by_role("region", name="Notifications")
    assert prefs.get_by_label("Budget exceeded: email").is_checked()  # the API's default
    prefs.get_by_label("Budget exceeded: email").uncheck()
    prefs.get_by_label("Monthly summary: in app").uncheck()
    prefs.get_by_label("Budget warning: email").check()
    prefs.get_by_role("button", name="Save notification settings").click()
    tab.page.get_by_text("Notification settings saved.").wait_for()

    user.refresh_from_db()
    assert (user.month_start_day, user.timezone) == (25, "Europe/Berlin")
    stored = preferences_for(user=user)
    assert stored["budget_exceeded"] == {"in_app": True, "email": False}
    assert stored["monthly_summary"]["in_app"] is False
    assert stored["budget_warn"] == {"in_app": True, "email": True}

    tab.page.reload()  # what the page shows comes back from the API
    tab.heading("Settings")
    assert tab.page.get_by_label("Budget month starts on day").input_value() == "25"
    assert tab.page.get_by_label("Timezone").input_value() == "Europe/Berlin"
    assert not tab.page.get_by_label("Budget exceeded: email").is_checked()
    assert tab.page.get_by_label("Budget warning: email").is_checked()
    assert tab.errors == [] and tab.csp_violations() == []


def test_change_password_keeps_this_session_and_delete_account_needs_the_password(open_tab):
    user = UserFactory(username="leaver")
    tab = open_tab("phone")
    tab.sign_in("leaver", DEFAULT_PASSWORD)
    tab.goto("#/settings")
    tab.heading("Settings")
    password = tab.page.get_by_role("region", name="Password")
    password.get_by_label("Current password").fill("not my password")
    password.get_by_label("New password").fill("Another-long-pass-77")
    password.get_by_role("button", name="Change password").click()
    password.get_by_text("Password is incorrect.").wait_for()
    password.get_by_label("Current password").fill(DEFAULT_PASSWORD)
    password.get_by_role("button", name="Change password").click()
    tab.page.get_by_text("Password changed.").wait_for()
    user.refresh_from_db()
    assert user.check_password("Another-long-pass-77")
    tab.page.reload()  # the fresh refresh token was kept: still signed in
    tab.heading("Settings")

    tab.page.get_by_role("button", name="Delete my account…").click()
    dialog = tab.page.get_by_role("dialog", name="Delete your account?")
    assert "cannot be undone" in tab.page.get_by_role("region", name="Delete account").inner_text()
    dialog.get_by_label("Password of leaver").fill("wrong")
    dialog.get_by_role("button", name="Delete my account and data").click()
    dialog.locator("[data-field=password] .field-error").wait_for()
    assert User.objects.filter(username="leaver").exists()  # nothing deleted
    dialog.get_by_label("Password of leaver").fill("Another-long-pass-77")
    dialog.get_by_role("button", name="Delete my account and data").click()
    tab.heading("Sign in")
    assert not User.objects.filter(username="leaver").exists()
    assert tab.errors == []


def test_notifications_unread_filter_mark_read_and_the_bell_count(open_tab):
    user = UserFactory(username="reader")
    for i in range(3):
        notify(user, f"Groceries budget at {80 + i} %")
    old = notify(user, "Rent is due", kind="bill_due")
    Notification.objects.filter(pk=old.pk).update(read_at=old.created_at)
    tab = open_tab()
    tab.sign_in("reader", DEFAULT_PASSWORD)
    bell = tab.page.get_by_role("button", name=re.compile("^Notifications,"))
    tab.page.get_by_role("button", name="Notifications, 3 unread").wait_for()

    bell.click()  # the bell's dialog leads to the whole list
    tab.page.get_by_role("dialog", name="Notifications").get_by_role(
        "link", name="All notifications"
    ).click()
    tab.heading("Notifications")
    items = tab.page.locator("[data-notification]")
    tab.page.get_by_text("Showing 4 of 4.").wait_for()
    tab.page.get_by_text("Unread", exact=True).click()
    tab.page.get_by_text("Showing 3 of 3.").wait_for()
    assert "unread=1" in tab.page.url
    assert "Rent is due" not in tab.page.locator("main").inner_text()

    tab.page.get_by_role("button", name="Mark read: Groceries budget at 81 %").click()
    tab.page.get_by_role("button", name="Notifications, 2 unread").wait_for()
    assert items.count() == 2
    assert Notification.objects.get(title="Groceries budget at 81 %").read_at is not None

    tab.page.get_by_role("button", name="Mark all read").click()
    tab.page.get_by_text("No unread notifications").wait_for()
    assert bell.get_attribute("aria-label") == "Notifications, none unread"
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    assert tab.errors == []


def test_webhook_create_shows_the_secret_once_and_a_ping_succeeds_in_the_log(open_tab, receiver):
    user = UserFactory(username="integrator")
    tab = open_tab()
    tab.sign_in("integrator", DEFAULT_PASSWORD)
    tab.goto("#/webhooks")
    tab.heading("Webhooks")
    tab.page.get_by_role("button", name="Add a webhook").click()
    dialog = tab.page.get_by_role("dialog", name="Add a webhook")
    dialog.get_by_label("URL").fill(receiver.url("/budget"))
    dialog.get_by_role("button", name="Add webhook").click()
    error = dialog.locator("[data-field=events] .field-error")
    error.wait_for()  # no event chosen: the API's message on the checklist
    dialog.get_by_label("expense.created").check()
    dialog.get_by_label("budget.exceeded").check()
    dialog.get_by_label("Description").fill("Home dashboard")
    dialog.get_by_role("button", name="Add webhook").click()

    shown = tab.page.get_by_role("dialog", name="Webhook added: store its secret")
    secret = shown.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    shown.get_by_role("button", name="Copy").click()
    shown.get_by_text("Copied to the clipboard.").wait_for()
    assert tab.page.evaluate("navigator.clipboard.readText()") == secret
    shown.get_by_role("button", name="I have stored it").click()
    receiver.secrets.append(secret)

    hook = Webhook.objects.get(book=user.personal_book)
    assert hook.events == ["expense.created", "budget.exceeded"]
    assert hook.description == "Home dashboard"
    card = tab.page.locator(f"[data-webhook='{hook.pk}']")
    card.get_by_text(f"Secret ends in …{secret[-4:]}").wait_for()
    assert secret not in tab.page.locator("main").inner_text()  # shown once, never again

    card.get_by_role("button", name="Send test").click()
    log = card.get_by_role("table", name="Deliveries, newest first")
    row = log.locator("tbody tr").first
    row.get_by_text("Succeeded").wait_for()
    assert "webhook.ping" in row.inner_text() and "200" in row.inner_text()
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [r.json["event"] for r in receiver.received] == ["webhook.ping"]
    assert receiver.received[0].verified  # signed with the secret the page showed

    row.get_by_role("button", name=re.compile("^Replay")).click()
    log.locator("tbody tr").nth(1).wait_for()
    assert len(receiver.received) == 2

    card.get_by_role("button", name="Disable").click()
    card.get_by_role("button", name="Re-enable").wait_for()
    hook.refresh_from_db()
    assert not hook.is_active
    card.get_by_role("button", name="Re-enable").click()
    card.get_by_role("button", name="Send test").wait_for()
    hook.refresh_from_db()
    assert hook.is_active and hook.disabled_at is None
    assert tab.errors == [] and tab.csp_violations() == []


def test_connection_add_map_sync_and_the_transactions_are_imported(open_tab, bridge):
    user = UserFactory(username="banker")
    tab = open_tab()
    tab.sign_in("banker", DEFAULT_PASSWORD)
    tab.goto("#/connections")
    tab.heading("Bank connections")
    tab.page.get_by_role("button", name="Connect a bank").click()
    dialog = tab.page.get_by_role("dialog", name="Connect a bank")
    dialog.get_by_label("Setup token").fill("not a token")
    dialog.get_by_role("button", name="Connect", exact=True).click()
    dialog.locator("[data-field=setup_token] .field-error").wait_for()
    dialog.get_by_label("Setup token").fill(bridge.setup_token())
    dialog.get_by_label("Name").fill("Test Bank")
    dialog.get_by_role("button", name="Connect", exact=True).click()
    dialog.wait_for(state="detached")

    card = tab.page.get_by_role("region", name="Test Bank")
    card.get_by_role("cell", name=re.compile("Everyday checking")).wait_for()
    assert "$1,520.35" in card.inner_text()
    card.get_by_label("Book for Everyday checking").select_option(label="Personal (personal)")
    card.get_by_text("Everyday checking now imports into").wait_for()
    card.get_by_role("button", name="Sync now").click()
    card.get_by_text("Sync finished.").wait_for()
    assert "1 expense, 1 income from 1 account" in card.locator("[data-last-sync]").inner_text()

    book = user.personal_book
    assert list(Expense.objects.filter(book=book).values_list("amount", flat=True)) == [
        Decimal("42.10")
    ]
    assert list(Income.objects.filter(book=book).values_list("amount", flat=True)) == [
        Decimal("2500.00")
    ]

    card.get_by_role("button", name="Rename Test Bank").click()
    rename = tab.page.get_by_role("dialog", name="Rename the connection")
    rename.get_by_label("Name").fill("Main bank")
    rename.get_by_role("button", name="Save").click()
    tab.page.get_by_role("region", name="Main bank").wait_for()
    assert Connection.objects.get(user=user).name == "Main bank"
    assert tab.errors == [] and tab.csp_violations() == []


WIDER_THAN_THE_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const main = document.querySelector("main");
  if (document.documentElement.scrollWidth <= width) return [];
  return [...main.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > width + 1 && !el.closest(".overflow-x-auto"))
    .slice(0, 5)
    .map((el) => {
      const right = Math.round(el.getBoundingClientRect().right);
      return `${el.tagName.toLowerCase()}.${el.className} (${right}px)`;
    });
}"""


def too_wide(tab) -> list[str]:
    """The page's own elements that make it scroll sideways (scrolling tables are fine)."""
    return tab.page.evaluate(WIDER_THAN_THE_SCREEN)


PAGES = [
    # (screenshot name, route, heading, the button that opens a dialog or None)
    ("settings", "#/settings", "Settings", None),
    ("settings-delete", "#/settings", "Settings", "Delete my account…"),
    ("notifications", "#/notifications", "Notifications", None),
    ("connections", "#/connections", "Bank connections", None),
    ("connection-dialog", "#/connections", "Bank connections", "Connect a bank"),
    ("webhooks", "#/webhooks", "Webhooks", None),
    ("webhook-dialog", "#/webhooks", "Webhooks", "Add webhook"),
]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_account_pages_pass_axe_light_and_dark(open_tab, viewport, receiver, bridge):
    user = UserFactory(username=f"axe-{viewport}")
    notify(user, "Dining out over budget", kind="budget_exceeded")
    notify(user, "Internet bill due in 3 days", kind="bill_due")
    client = APIClient()
    client.force_authenticate(user)
    created = client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url(), "events": ["expense.created"], "description": "Sheet"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert client.post(f"/api/v1/webhooks/{created.json()['id']}/ping/").status_code == 202
    connection = client.post(
        "/api/v1/connections/",
        {"kind": "simplefin", "setup_token": bridge.setup_token(), "name": "Test Bank"},
        format="json",
    )
    assert connection.status_code == 201, connection.content

    tab = open_tab(viewport)
    tab.sign_in(user.username, DEFAULT_PASSWORD)
    problems: list[str] = []
    for dark in (False, True):
        look = f"{viewport}-{'dark' if dark else 'light'}"
        tab.page.emulate_media(color_scheme="dark" if dark else "light")
        for name, route, heading, opener in PAGES:
            tab.goto(route)
            tab.heading(heading)
            tab.settled()
            if name == "webhooks":  # the delivery log open too
                tab.page.get_by_role("button", name="Deliveries").click()
                tab.page.get_by_role("table", name="Deliveries, newest first").wait_for()
            if opener:
                tab.page.get_by_role("button", name=opener).first.click()
                tab.page.get_by_role("dialog").wait_for()
            problems.extend(f"{look} {name}: {v}" for v in tab.axe())
            problems.extend(f"{look} {name}: wider than the screen: {w}" for w in too_wide(tab))
            tab.shot(f"account-{name}-{look}")
            if opener:
                tab.page.keyboard.press("Escape")
                tab.page.get_by_role("dialog").wait_for(state="detached")
    problems += tab.csp_violations() + tab.errors
    assert not problems, "\n".join(problems)

"""/webhooks/ and their deliveries through the API (SPEC §17): owners only, secrets shown
twice only, URLs checked against SSRF when saved, the delivery log and its filters."""

from __future__ import annotations

import socket

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from users.tests.factories import UserFactory
from webhooks.models import MAX_WEBHOOKS_PER_BOOK, DeliveryStatus, Webhook, WebhookDelivery

from .helpers import api, deliveries

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"


def body(receiver, **extra):
    return {"url": receiver.url(), "events": ["expense.created"], **extra}


def test_create_shows_the_secret_once_and_never_again(auth_client, receiver):
    response = auth_client.post(URL, body(receiver, description="Dashboard"), format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["secret_hint"] == "…" + secret[-4:]
    assert created["is_active"] is True and created["description"] == "Dashboard"
    assert created["events"] == ["expense.created"]

    detail = auth_client.get(f"{URL}{created['id']}/")
    listing = auth_client.get(URL)
    patched = auth_client.patch(f"{URL}{created['id']}/", {"description": "x"}, format="json")
    log = auth_client.get(f"{URL}{created['id']}/deliveries/")
    for response in (detail, listing, patched, log):
        assert response.status_code == 200, response.content
        assert secret not in response.content.decode()
        assert secret[6:] not in response.content.decode()
    assert "secret" not in detail.json()
    assert listing.json()["count"] == 1
    # Stored encrypted: the column holds a Fernet token, not the secret.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhook WHERE id = %s", [created["id"]])
        stored = cursor.fetchone()[0]
    assert secret not in stored and stored.startswith("gAAAA")
    assert Webhook.objects.get(pk=created["id"]).secret == secret


def test_rotate_returns_the_new_secret(auth_client, receiver):
    created = auth_client.post(URL, body(receiver), format="json").json()
    response = auth_client.post(f"{URL}{created['id']}/rotate-secret/")
    assert response.status_code == 200, response.content
    rotated = response.json()
    assert rotated["secret"] != created["secret"]
    assert rotated["secret_hint"] == "…" + rotated["secret"][-4:]
    assert rotated["previous_secret_expires_at"] is not None
    hook = Webhook.objects.get(pk=created["id"])
    assert (hook.secret, hook.previous_secret) == (rotated["secret"], created["secret"])


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"events": []}, "events", "This list may not be empty."),
        ({"events": ["expense.exploded"]}, "events", '"expense.exploded" is not a valid choice.'),
        ({"events": "expense.created"}, "events", 'Expected a list of items but got type "str".'),
        (
            {"events": ["expense.created", "expense.created"]},
            "events",
            "Listed more than once: expense.created.",
        ),
        ({"url": "not a url"}, "url", "Enter a valid URL."),
        ({"url": "ftp://127.0.0.1/x"}, "url", "The URL must start with http:// or https://"),
        ({"description": "x" * 201}, "description", "no more than 200 characters"),
        ({"secret": "whsec_mine"}, "secret", "Unknown field."),
        ({"secret_hint": "…mine"}, "secret_hint", "Read-only field: the server sets it."),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_bad_bodies_are_a_400_naming_the_field(auth_client, receiver, change, field, message):
    response = auth_client.post(URL, {**body(receiver), **change}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()[field]
    flat = str(errors)
    assert message in flat, errors
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_urls_are_refused_when_saved(auth_client, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = auth_client.post(URL, {"url": url, "events": ["expense.created"]}, format="json")
    assert response.status_code == 400, response.content
    assert "non-public address" in response.json()["url"][0]
    assert not Webhook.objects.exists()


def test_a_url_changed_to_a_private_one_is_refused(auth_client, receiver, settings, monkeypatch):
    hook = auth_client.post(URL, body(receiver), format="json").json()
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = auth_client.patch(
        f"{URL}{hook['id']}/", {"url": "http://10.1.2.3/hook"}, format="json"
    )
    assert response.status_code == 400
    assert "url" in response.json()
    assert Webhook.objects.get(pk=hook["id"]).url == receiver.url()


def test_a_public_host_is_accepted(auth_client, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    response = auth_client.post(
        URL, {"url": "https://hooks.example.com/budget", "events": ["budget.warn"]}, format="json"
    )
    assert response.status_code == 201, response.content


def test_an_unresolvable_host_is_refused(auth_client, monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    response = auth_client.post(
        URL, {"url": "https://nowhere.invalid/hook", "events": ["budget.warn"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"url": ["The host 'nowhere.invalid' does not resolve."]}


def test_a_book_has_at_most_twenty_hooks(auth_client, receiver):
    for _ in range(MAX_WEBHOOKS_PER_BOOK):
        assert auth_client.post(URL, body(receiver), format="json").status_code == 201
    response = auth_client.post(URL, body(receiver), format="json")
    assert response.status_code == 400
    assert "at most 20 webhooks" in response.json()["non_field_errors"][0]


def test_put_replaces_and_delete_removes_with_the_log(
    user, auth_client, receiver, hook_for, committed
):
    hook = hook_for(user)
    with committed():
        auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        )
    response = auth_client.put(
        f"{URL}{hook['id']}/",
        {"url": receiver.url("/v2"), "events": ["income.created"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["url"], response.json()["events"]) == (
        receiver.url("/v2"),
        ["income.created"],
    )
    assert auth_client.delete(f"{URL}{hook['id']}/").status_code == 204
    assert not WebhookDelivery.objects.exists()


def test_owners_only_editors_and_viewers_get_403_strangers_404(
    user, shared_book, client_for, receiver, hook_for
):
    editor, viewer, stranger = UserFactory(), UserFactory(), UserFactory()
    book = shared_book(editors=[editor], viewers=[viewer])
    hook = hook_for(user, book=book)
    delivery = WebhookDelivery.objects.create(
        webhook_id=hook["id"],
        event="expense.created",
        body="{}",
        next_attempt_at=None,
        status=DeliveryStatus.SUCCEEDED,
    )
    base = f"{api(book)}/webhooks/"
    requests = [
        ("get", base, None),
        ("post", base, body(receiver)),
        ("get", f"{base}{hook['id']}/", None),
        ("patch", f"{base}{hook['id']}/", {"description": "x"}),
        ("delete", f"{base}{hook['id']}/", None),
        ("post", f"{base}{hook['id']}/rotate-secret/", None),
        ("post", f"{base}{hook['id']}/ping/", None),
        ("get", f"{base}{hook['id']}/deliveries/", None),
        ("get", f"{base}{hook['id']}/deliveries/{delivery.pk}/", None),
        ("post", f"{base}{hook['id']}/deliveries/{delivery.pk}/replay/", None),
    ]
    for who, expected in ((editor, 403), (viewer, 403), (stranger, 404)):
        client = client_for(who)
        for method, url, data in requests:
            response = getattr(client, method)(url, data, format="json")
            assert response.status_code == expected, (who, method, url, response.content)
            assert hook["secret"] not in response.content.decode()
    assert Webhook.objects.get(pk=hook["id"]).description == ""
    assert WebhookDelivery.objects.count() == 1


def test_another_books_hook_and_deliveries_are_not_found(
    user, other_user, auth_client, client_for, hook_for
):
    theirs = hook_for(other_user)
    delivery = WebhookDelivery.objects.create(
        webhook_id=theirs["id"],
        event="expense.created",
        body="{}",
        next_attempt_at=None,
        status=DeliveryStatus.SUCCEEDED,
    )
    mine = hook_for(user)
    for method, url in [
        ("get", f"{URL}{theirs['id']}/"),
        ("patch", f"{URL}{theirs['id']}/"),
        ("delete", f"{URL}{theirs['id']}/"),
        ("post", f"{URL}{theirs['id']}/rotate-secret/"),
        ("post", f"{URL}{theirs['id']}/ping/"),
        ("get", f"{URL}{theirs['id']}/deliveries/"),
        ("get", f"{URL}{theirs['id']}/deliveries/{delivery.pk}/"),
        ("get", f"{URL}{mine['id']}/deliveries/{delivery.pk}/"),  # their delivery, my hook
        ("post", f"{URL}{mine['id']}/deliveries/{delivery.pk}/replay/"),
    ]:
        response = getattr(auth_client, method)(url, {}, format="json")
        assert response.status_code == 404, (method, url, response.content)
    assert [h["id"] for h in auth_client.get(URL).json()["results"]] == [mine["id"]]
    assert WebhookDelivery.objects.count() == 1


def test_ping_sends_a_signed_test_delivery(user, auth_client, hook_for, receiver, committed):
    hook = hook_for(user, events=["budget.exceeded"])
    with committed():
        response = auth_client.post(f"{URL}{hook['id']}/ping/")
    assert response.status_code == 202, response.content
    assert response.json()["event"] == "webhook.ping"
    [request] = receiver.received
    assert request.verified
    assert request.headers["X-Webhook-Event"] == "webhook.ping"
    assert request.json["data"] == {"webhook": hook["id"], "events": ["budget.exceeded"]}
    assert request.json["book"] == user.personal_book.pk


def test_a_disabled_hook_cannot_be_pinged_or_replayed(user, auth_client, hook_for, committed):
    hook = hook_for(user)
    with committed():
        auth_client.post(f"{URL}{hook['id']}/ping/")
    [delivery] = deliveries(hook)
    auth_client.patch(f"{URL}{hook['id']}/", {"is_active": False}, format="json")
    ping = auth_client.post(f"{URL}{hook['id']}/ping/")
    replay = auth_client.post(f"{URL}{hook['id']}/deliveries/{delivery.pk}/replay/")
    for response in (ping, replay):
        assert response.status_code == 409
        assert response.json()["code"] == "webhook_disabled"
    assert len(deliveries(hook)) == 1


def test_disabling_by_hand_closes_pending_deliveries(
    user, auth_client, hook_for, django_capture_on_commit_callbacks
):
    hook = hook_for(user)
    with django_capture_on_commit_callbacks(execute=False):  # queued, not yet sent
        auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        )
    response = auth_client.patch(f"{URL}{hook['id']}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["disabled_reason"] == "Disabled by an owner."
    [delivery] = deliveries(hook)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "The webhook was disabled before this delivery was sent."


def test_the_delivery_log_newest_first_filtered_paginated(
    user, auth_client, hook_for, receiver, committed
):
    hook = hook_for(user, events=["expense.created", "expense.deleted"])
    receiver.plan = [500]
    with committed():
        expense_id = auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        ).json()["id"]
    with committed():
        auth_client.delete(f"/api/v1/expenses/{expense_id}/")
    log = f"{URL}{hook['id']}/deliveries/"
    listing = auth_client.get(log).json()
    assert listing["count"] == 2
    assert [d["event"] for d in listing["results"]] == ["expense.deleted", "expense.created"]
    created = listing["results"][1]
    assert created["status"] == "pending" and created["last_status_code"] == 500
    assert created["attempts"][0]["status_code"] == 500
    assert created["attempts"][0]["duration_ms"] >= 0
    assert "body" not in created

    assert [d["event"] for d in auth_client.get(log, {"status": "pending"}).json()["results"]] == [
        "expense.created"
    ]
    assert auth_client.get(log, {"event": "expense.deleted"}).json()["count"] == 1
    assert auth_client.get(log, {"page_size": 1}).json()["next"] is not None
    bad = auth_client.get(log, {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()

    detail = auth_client.get(f"{log}{created['id']}/").json()
    assert detail["payload"]["event"] == "expense.created"
    assert detail["body"] == WebhookDelivery.objects.get(pk=created["id"]).body


def test_lists_take_a_fixed_number_of_queries(user, auth_client, hook_for, receiver, committed):
    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert auth_client.get(url).status_code == 200
        return len(captured)

    hook = hook_for(user)
    with committed():
        auth_client.post(f"{URL}{hook['id']}/ping/")
    one_hook, one_delivery = queries(URL), queries(f"{URL}{hook['id']}/deliveries/")
    for _ in range(4):
        hook_for(user)
        with committed():
            auth_client.post(f"{URL}{hook['id']}/ping/")
    assert queries(URL) == one_hook
    assert queries(f"{URL}{hook['id']}/deliveries/") == one_delivery


def test_hooks_of_a_shared_book_are_its_own(user, shared_book, auth_client, receiver):
    book = shared_book()
    response = auth_client.post(f"{api(book)}/webhooks/", body(receiver), format="json")
    assert response.status_code == 201
    assert Webhook.objects.get(pk=response.json()["id"]).book == book
    assert auth_client.get(URL).json()["count"] == 0  # the personal book has none
    assert auth_client.get(f"{api(book)}/webhooks/").json()["count"] == 1


def test_the_events_a_hook_can_take_are_listed_from_the_one_declaration(
    user, auth_client, client_for, shared_book
):
    from core.events import EVENTS

    listed = auth_client.get("/api/v1/webhooks/events/")
    assert listed.status_code == 200
    assert listed.json() == [{"name": name, "description": text} for name, text in EVENTS.items()]
    viewer = UserFactory()
    book = shared_book(owner=user, viewers=[viewer])
    assert client_for(viewer).get(f"/api/v1/books/{book.pk}/webhooks/events/").status_code == 403

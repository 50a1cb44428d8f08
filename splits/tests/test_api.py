"""/books/{id}/balances/, settle-up/, settlements/ and their CSV exports (SPEC §15)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from books.models import Membership
from splits.models import Settlement
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

from .world import DAY, expected, fill, make_trio, settle, shares, usd_rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio():
    return fill(make_trio())


def money(value):
    return f"{value:.2f}"


def url(book, tail):
    return f"/api/v1/books/{book.pk}/{tail}"


def test_balances(trio, client_for):
    response = client_for(trio.c).get(url(trio.book, "balances/"))  # C is a viewer
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["currency"] == "EUR"
    share, balance = shares(trio), expected(trio)  # 17.34 / 17.33 / 13.33 with A's odd cent
    assert body["members"] == [
        {
            "user": trio.a.pk,
            "username": "alice",
            "paid": "30.00",
            "share": money(share["A"]),
            "settled_out": "0.00",
            "settled_in": "4.00",
            "balance": money(balance["A"]),
        },
        {
            "user": trio.b.pk,
            "username": "bob",
            "paid": "8.00",
            "share": money(share["B"]),
            "settled_out": "0.00",
            "settled_in": "0.00",
            "balance": money(balance["B"]),
        },
        {
            "user": trio.c.pk,
            "username": "carol",
            "paid": "10.00",
            "share": money(share["C"]),
            "settled_out": "4.00",
            "settled_in": "0.00",
            "balance": money(balance["C"]),
        },
    ]


def test_settle_up_then_recording_it_zeroes_everything(trio, client_for):
    client = client_for(trio.b)  # an editor
    body = client.get(url(trio.book, "settle-up/")).json()
    balance = expected(trio)
    assert body == {
        "currency": "EUR",
        "transfers": [
            {"from": trio.b.pk, "to": trio.a.pk, "amount": money(balance["A"])},
            {"from": trio.b.pk, "to": trio.c.pk, "amount": money(balance["C"])},
        ],
    }
    for transfer in body["transfers"]:
        response = client.post(
            url(trio.book, "settlements/"),
            {**transfer, "date": "2026-03-02", "note": "bank transfer"},
            format="json",
        )
        assert response.status_code == 201, response.content
    balances = client.get(url(trio.book, "balances/")).json()["members"]
    assert {row["balance"] for row in balances} == {"0.00"}
    assert client.get(url(trio.book, "settle-up/")).json()["transfers"] == []


def test_create_retrieve_list_delete(trio, client_for):
    client = client_for(trio.a)
    response = client.post(
        url(trio.book, "settlements/"),
        {"from": trio.b.pk, "to": trio.a.pk, "amount": "10", "currency": "USD", "note": "  x "},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["from"] == trio.b.pk and created["to"] == trio.a.pk
    # Today, at the latest rate on or before it (1 EUR = 1.25 USD on 2026-03-01).
    assert (created["amount"], created["currency"], created["base_amount"]) == (
        "10.00",
        "USD",
        "8.00",
    )
    assert created["created_by"] == trio.a.pk and created["note"] == "x"
    detail = url(trio.book, f"settlements/{created['id']}/")
    assert client.get(detail).json() == created
    listed = client.get(url(trio.book, "settlements/")).json()
    assert listed["count"] == 2
    assert listed["results"][0]["id"] == created["id"]  # newest date first (today > DAY)
    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404
    assert client.patch(detail, {"note": "y"}, format="json").status_code == 405


def test_a_settlement_in_another_currency(trio, client_for):
    usd_rate()
    response = client_for(trio.a).post(
        url(trio.book, "settlements/"),
        {"from": trio.b.pk, "to": trio.a.pk, "amount": "10.00", "currency": "USD", "date": DAY},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["base_amount"], body["exchange_rate"], body["date"]) == (
        "8.00",
        "0.8",
        "2026-03-01",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": "stranger"}, "from"),
        ({"from": None}, "from"),
        ({"to": "missing"}, "to"),
        ({"to": "stranger"}, "to"),
        ({"to": "self"}, "to"),
        ({"amount": "0"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "eur"}, "currency"),
        ({"date": "1800-01-01"}, "date"),
        ({"colour": "red"}, "colour"),
        ({"base_amount": "1.00"}, "base_amount"),
    ],
)
def test_bad_input_is_a_400_on_its_field_and_nothing_is_written(trio, client_for, change, field):
    other_book = make_other_book()
    stranger = other_book.memberships.get().user  # a member of another book
    body = {"from": trio.b.pk, "to": trio.a.pk, "amount": "5.00"}
    for key, value in change.items():
        body[key] = {"stranger": stranger.pk, "self": trio.b.pk}.get(value, value)
    if body.get("to") == "missing":
        del body["to"]
    before = Settlement.objects.count()
    response = client_for(trio.a).post(url(trio.book, "settlements/"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Settlement.objects.count() == before


def make_other_book():
    from books.services import book_create

    return book_create(user=UserFactory(), name="Other", base_currency="EUR")


def test_a_missing_rate_is_a_400(trio, client_for):
    response = client_for(trio.a).post(
        url(trio.book, "settlements/"),
        {"from": trio.b.pk, "to": trio.a.pk, "amount": "5.00", "currency": "GBP"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "rate_unavailable"


def test_a_viewer_reads_but_cannot_record_or_delete(trio, client_for):
    viewer = client_for(trio.c)
    assert viewer.get(url(trio.book, "settlements/")).status_code == 200
    response = viewer.post(
        url(trio.book, "settlements/"),
        {"from": trio.c.pk, "to": trio.a.pk, "amount": "0.67"},
        format="json",
    )
    assert response.status_code == 403
    settlement = Settlement.objects.get()
    assert viewer.delete(url(trio.book, f"settlements/{settlement.pk}/")).status_code == 403
    assert Settlement.objects.count() == 1


def test_an_outsider_gets_404_everywhere(trio, client_for):
    outsider = client_for(UserFactory())
    settlement = Settlement.objects.get()
    for tail in (
        "balances/",
        "settle-up/",
        "settlements/",
        f"settlements/{settlement.pk}/",
        "export/balances.csv",
        "export/settlements.csv",
    ):
        response = outsider.get(url(trio.book, tail))
        assert response.status_code == 404, tail
        assert "alice" not in response.content.decode()
    response = outsider.post(
        url(trio.book, "settlements/"),
        {"from": trio.b.pk, "to": trio.a.pk, "amount": "1.00"},
        format="json",
    )
    assert response.status_code == 404
    assert outsider.delete(url(trio.book, f"settlements/{settlement.pk}/")).status_code == 404
    assert Settlement.objects.count() == 1


def test_another_books_settlement_is_404(trio, client_for):
    other = make_trio(prefix="other-")
    theirs = settle(other.book, other.a, other.b, "1.00")
    client = client_for(trio.a)
    assert client.get(url(trio.book, f"settlements/{theirs.pk}/")).status_code == 404
    assert client.delete(url(trio.book, f"settlements/{theirs.pk}/")).status_code == 404
    assert Settlement.objects.filter(pk=theirs.pk).exists()


def test_a_personal_book_has_none_of_it(user, auth_client):
    personal = user.personal_book
    for tail in ("balances/", "settle-up/", "settlements/", "export/balances.csv"):
        response = auth_client.get(url(personal, tail))
        assert response.status_code == 400, tail
        assert response.json()["code"] == "not_a_shared_book"
    for path in ("/api/v1/balances/", "/api/v1/settle-up/", "/api/v1/settlements/"):
        assert auth_client.get(path).status_code == 404  # not served at the top level
    # A settlement's own routes too, and the schema says so (found by the stateful fuzzing:
    # DELETE answered an undocumented 400).
    for method in ("get", "delete"):
        response = getattr(auth_client, method)(url(personal, "settlements/101/"))
        assert response.status_code == 400, method
        assert response.json()["code"] == "not_a_shared_book"
    schema = auth_client.get("/api/v1/schema/?format=json").json()
    detail = schema["paths"]["/api/v1/books/{book_id}/settlements/{id}/"]
    assert {"get", "delete"} <= set(detail) and all(
        "400" in detail[m]["responses"] for m in ("get", "delete")
    )


def _world_with(records: int, members: int):
    trio = make_trio()
    for index in range(members - 3):
        Membership.objects.create(book=trio.book, user=UserFactory(), role="editor")
    for index in range(records):
        settle(trio.book, trio.a, trio.b, f"{index + 1}.00")
    return trio


@pytest.mark.parametrize("size", [1, 10])
def test_the_list_and_balances_take_a_constant_number_of_queries(
    size, client_for, django_assert_max_num_queries
):
    trio = _world_with(records=size, members=max(3, size))
    client = client_for(trio.a)
    # Authentication, membership, and the count and page (list) or the grouped sums.
    with django_assert_max_num_queries(6):
        assert client.get(url(trio.book, "settlements/")).json()["count"] == size
    with django_assert_max_num_queries(9):
        assert len(client.get(url(trio.book, "balances/")).json()["members"]) == max(3, size)


# --- leaving with a balance (409) ------------------------------------------------------


def test_removing_or_leaving_with_a_balance_is_409_then_fine_at_zero(trio, client_for):
    member = url(trio.book, f"members/{trio.c.pk}/")
    owed = money(expected(trio)["C"])  # 0.67, or 0.66 with the odd cent on C
    for client in (client_for(trio.a), client_for(trio.c)):  # owner removes; C leaves
        response = client.delete(member)
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "balance_not_settled"
        assert f"{owed} EUR" in response.json()["detail"]
    assert Membership.objects.filter(book=trio.book, user=trio.c).exists()
    client_for(trio.b).post(
        url(trio.book, "settlements/"),
        {"from": trio.b.pk, "to": trio.c.pk, "amount": owed},
        format="json",
    )
    assert client_for(trio.c).delete(member).status_code == 204


def test_deleting_ones_account_with_a_balance_is_409_and_changes_nothing(trio, client_for):
    from users.services import issue_tokens

    refresh = issue_tokens(user=trio.b)["refresh"]
    client = client_for(trio.b)
    response = client.delete("/api/v1/auth/me/", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "balance_not_settled"
    assert f"bob owes {money(-expected(trio)['B'])} EUR" in response.json()["detail"]
    assert client.get("/api/v1/auth/me/").status_code == 200  # still there, still signed in
    assert Membership.objects.filter(book=trio.book, user=trio.b).exists()
    assert trio.b.__class__.objects.filter(pk=trio.b.pk).exists()
    # The sessions were not ended either (revoking them rolled back with the rest).
    response = client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 200, response.content


# --- CSV ---------------------------------------------------------------------------------


def read_csv(response):
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_balances_csv(trio, client_for):
    response = client_for(trio.c).get(url(trio.book, "export/balances.csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="flat-balances-' in response["Content-Disposition"]
    share, balance = (
        {k: money(v) for k, v in shares(trio).items()},
        {k: money(v) for k, v in expected(trio).items()},
    )
    assert read_csv(response) == [
        ["user", "username", "paid", "share", "settled_out", "settled_in", "balance", "currency"],
        [str(trio.a.pk), "alice", "30.00", share["A"], "0.00", "4.00", balance["A"], "EUR"],
        [str(trio.b.pk), "bob", "8.00", share["B"], "0.00", "0.00", balance["B"], "EUR"],
        [str(trio.c.pk), "carol", "10.00", share["C"], "4.00", "0.00", balance["C"], "EUR"],
    ]


def test_settlements_csv_and_formula_injection(trio, client_for):
    trio.b.username = "-bob"
    trio.b.save()
    settle(trio.book, trio.b, trio.a, "1.50", note='=HYPERLINK("http://evil")')
    rows = read_csv(client_for(trio.a).get(url(trio.book, "export/settlements.csv")))
    assert rows[0] == [
        "id",
        "date",
        "from_user",
        "from_username",
        "to_user",
        "to_username",
        "amount",
        "currency",
        "base_amount",
        "base_currency",
        "exchange_rate",
        "note",
        "created_at",
    ]
    first, second = rows[1:]
    assert first[1:11] == [
        "2026-03-01",
        str(trio.c.pk),
        "carol",
        str(trio.a.pk),
        "alice",
        "5.00",
        "USD",
        "4.00",
        "EUR",
        "0.8",
    ]
    assert second[3] == "'-bob" and second[11] == '\'=HYPERLINK("http://evil")'
    assert second[12].endswith("Z")
    assert Decimal(second[6]) == Decimal("1.50")


def test_a_deleted_accounts_settlements_stay_with_null_people(client_for):
    trio = make_trio(prefix="z-")
    settle(trio.book, trio.b, trio.c, "5.00")
    settle(trio.book, trio.c, trio.b, "5.00")  # square again
    response = client_for(trio.c).delete(
        "/api/v1/auth/me/", {"password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 204, response.content
    rows = client_for(trio.a).get(url(trio.book, "settlements/")).json()["results"]
    assert {(row["from"], row["to"]) for row in rows} == {(trio.b.pk, None), (None, trio.b.pk)}
    balances = client_for(trio.a).get(url(trio.book, "balances/")).json()["members"]
    assert [row["user"] for row in balances] == [trio.a.pk, trio.b.pk]
    assert {row["balance"] for row in balances} == {"0.00"}

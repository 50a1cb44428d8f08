"""Saved import mappings (/imports/profiles/, SPEC §11): CRUD scoped to the owner, options
validated like an upload's, applied by name or by the file's header fingerprint."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports import profiles as profile_services
from imports.models import ImportProfile
from imports.tests.xlsx_builder import text_cell, xlsx

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/profiles/"
IMPORTS = "/api/v1/imports/"

# A bank whose headers no synonym knows, with a decimal comma and charges positive.
ODD = (
    "Konto 123;Export 2026-03-31\n"
    "Wann;Was genau;Wieviel\n"
    "01.03.2026;Bakery;3,50\n"
    "02.03.2026;Refund;-10,00\n"
)
ODD_OPTIONS = {
    "columns": {"date": "Wann", "description": "Was genau", "amount": "Wieviel"},
    "date_format": "%d.%m.%Y",
    "decimal_separator": ",",
    "negate": True,
}


def file(name: str, content: bytes | str) -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def create(client, **body):
    return client.post(URL, body, format="json")


def upload(client, content: str | bytes, name: str = "s.csv", **extra):
    return client.post(IMPORTS, {"file": file(name, content), **extra}, format="multipart")


def with_sample(client, name: str, content: str | bytes, options: dict, filename="s.csv"):
    import json

    return client.post(
        URL,
        {"name": name, "options": json.dumps(options), "sample": file(filename, content)},
        format="multipart",
    )


# --- CRUD -----------------------------------------------------------------------------------


def test_crud(auth_client, user):
    created = create(auth_client, name="  My   bank ", options=ODD_OPTIONS)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "My bank"
    assert body["options"] == ODD_OPTIONS
    assert (body["header"], body["header_fingerprint"]) == (None, "")
    pk = body["id"]

    assert auth_client.get(URL).json()["results"][0]["id"] == pk
    assert auth_client.get(f"{URL}{pk}/").json()["options"] == ODD_OPTIONS

    patched = auth_client.patch(f"{URL}{pk}/", {"options": {"skip_rows": 1}}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["options"] == {"skip_rows": 1}
    assert patched.json()["name"] == "My bank"

    assert auth_client.delete(f"{URL}{pk}/").status_code == 204
    assert not ImportProfile.objects.filter(pk=pk).exists()


def test_another_users_profile_is_404_and_unlisted(auth_client, other_client):
    theirs = create(other_client, name="Theirs", options={"negate": True}).json()
    assert auth_client.get(URL).json()["count"] == 0
    for method in ("get", "patch", "put", "delete"):
        response = getattr(auth_client, method)(
            f"{URL}{theirs['id']}/", {"name": "Mine now"}, format="json"
        )
        assert response.status_code == 404, method
    assert ImportProfile.objects.get(pk=theirs["id"]).name == "Theirs"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"date_format": "%Q"}, "date_format"),
        ({"columns": {"colour": "A"}}, "columns"),
        ({"columns": "not json"}, "columns"),
        ({"decimal_separator": ";"}, "decimal_separator"),
        ({"encoding": "klingon-8"}, "encoding"),
        ({"skip_rows": -1}, "skip_rows"),
        ({"file": "x"}, "file"),
        ({"format": "ofx"}, "format"),
        ({"wat": 1}, "wat"),
    ],
)
def test_options_are_validated_like_an_upload(auth_client, options, named):
    response = create(auth_client, name="Bad", options=options)
    assert response.status_code == 400, response.content
    assert named in " ".join(response.json()["options"])
    assert not ImportProfile.objects.exists()


def test_new_upload_options_are_saved_too(auth_client):
    options = {"columns": {"direction": "Dr/Cr"}, "credit_markers": ["CR", "Haben"]}
    response = create(auth_client, name="Card", options=options)
    assert response.status_code == 201, response.content
    assert response.json()["options"] == options
    too_many = create(auth_client, name="Bad", options={"credit_markers": ["x"] * 51})
    assert too_many.status_code == 400
    assert "credit_markers" in " ".join(too_many.json()["options"])


def test_options_must_be_an_object(auth_client):
    for options in (["negate"], "[]", 3):
        response = create(auth_client, name="Bad", options=options)
        assert response.status_code == 400
        assert "options" in response.json()


def test_names_are_unique_per_user_case_insensitively(auth_client, other_client):
    assert create(auth_client, name="Barclays").status_code == 201
    again = create(auth_client, name="  BARCLAYS ")
    assert again.status_code == 400
    assert "name" in again.json()
    assert create(other_client, name="barclays").status_code == 201  # another user's is fine
    other = create(auth_client, name="HSBC").json()
    renamed = auth_client.patch(f"{URL}{other['id']}/", {"name": "barclays"}, format="json")
    assert renamed.status_code == 400
    assert create(auth_client, name="   ").status_code == 400


def test_at_most_the_cap_per_book(auth_client, monkeypatch):
    monkeypatch.setattr(profile_services, "MAX_PROFILES_PER_BOOK", 3)
    for n in range(3):
        assert create(auth_client, name=f"P{n}").status_code == 201
    refused = create(auth_client, name="P3")
    assert refused.status_code == 400
    assert "at most 3" in refused.json()["non_field_errors"][0]
    assert ImportProfile.objects.count() == 3


# --- header fingerprints --------------------------------------------------------------------


def test_a_sample_sets_the_header_and_fingerprint(auth_client):
    response = with_sample(auth_client, "Odd bank", ODD, ODD_OPTIONS)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["header"] == ["wann", "was genau", "wieviel"]
    assert body["header_fingerprint"] == profile_services.fingerprint(body["header"])
    assert len(body["header_fingerprint"]) == 64


def test_a_sample_without_a_readable_header_is_400(auth_client):
    response = with_sample(auth_client, "Odd", ODD, {})  # no mapping: header not found
    assert response.status_code == 400
    assert "sample" in response.json()
    ofx = with_sample(auth_client, "OFX", "OFXHEADER:100\nDATA:OFXSGML\n<OFX></OFX>", {})
    assert ofx.status_code == 400
    assert "CSV or XLSX" in ofx.json()["sample"][0]


def test_one_profile_per_header(auth_client):
    assert with_sample(auth_client, "A", ODD, ODD_OPTIONS).status_code == 201
    second = with_sample(auth_client, "B", ODD, ODD_OPTIONS)
    assert second.status_code == 400
    assert "'A'" in second.json()["header"][0]


def test_an_xlsx_sample(auth_client):
    rows = (
        f'<row r="1">{text_cell("A1", "Buchung")}{text_cell("B1", "Text")}'
        f"{text_cell('C1', 'Betrag')}</row>"
        f'<row r="2">{text_cell("A2", "2026-03-01")}{text_cell("B2", "Bakery")}'
        f"{text_cell('C2', '-3.50')}</row>"
    )
    options = {"columns": {"date": "Buchung", "description": "Text", "amount": "Betrag"}}
    response = with_sample(auth_client, "X", xlsx(rows), options, filename="s.xlsx")
    assert response.status_code == 201, response.content
    assert response.json()["header"] == ["buchung", "text", "betrag"]


# --- applying a profile on upload -----------------------------------------------------------


def test_naming_a_profile_applies_its_options(auth_client, user):
    profile = create(auth_client, name="Odd bank", options=ODD_OPTIONS).json()
    assert upload(auth_client, ODD).status_code == 400  # unreadable without the mapping

    for ref in ("odd BANK", str(profile["id"])):
        batch = upload(auth_client, ODD, profile=ref)
        assert batch.status_code == 201, batch.content
        body = batch.json()
        assert body["profile"] == {"id": profile["id"], "name": "Odd bank", "matched_by": "name"}
        amounts = [(row["kind"], Decimal(row["amount"])) for row in body["rows"]]
        assert amounts == [("expense", Decimal("3.5")), ("income", Decimal("10"))]  # negated


def test_request_options_override_the_profiles(auth_client):
    create(auth_client, name="Odd", options=ODD_OPTIONS)
    body = upload(auth_client, ODD, profile="Odd", negate="false").json()
    assert [row["kind"] for row in body["rows"]] == ["income", "expense"]
    assert body["profile"]["matched_by"] == "name"


def test_an_unknown_or_foreign_profile_is_400(auth_client, other_client):
    theirs = create(other_client, name="Theirs", options=ODD_OPTIONS).json()
    for ref in ("Nope", str(theirs["id"]), "Theirs"):
        response = upload(auth_client, ODD, profile=ref)
        assert response.status_code == 400, ref
        assert "profile" in response.json()


def test_a_matching_header_picks_the_profile_automatically(auth_client, other_client):
    profile = with_sample(auth_client, "Odd bank", ODD, ODD_OPTIONS).json()
    # Another month from the same bank: other metadata line, other rows, same header.
    march = "Konto 123;Export 2026-04-30\n\nWann;Was  genau;WIEVIEL\n03.04.2026;Butcher;12,00\n"
    body = upload(auth_client, march).json()
    assert body["profile"] == {
        "id": profile["id"],
        "name": "Odd bank",
        "matched_by": "fingerprint",
    }
    assert [(row["description"], row["kind"]) for row in body["rows"]] == [("Butcher", "expense")]
    # Another user's profiles are never used.
    assert upload(other_client, march).status_code == 400


def test_no_automatic_profile_when_options_are_given_or_the_header_differs(auth_client):
    with_sample(auth_client, "Odd bank", ODD, ODD_OPTIONS)
    given = upload(
        auth_client,
        ODD,
        **{
            "columns": '{"date": 0, "description": 1, "amount": 2}',
            "date_format": "%d.%m.%Y",
            "skip_rows": 2,
        },
    )
    assert given.status_code == 201, given.content
    assert given.json()["profile"] is None
    plain = upload(auth_client, "Date,Description,Amount\n2026-03-01,Tea,-2.00\n").json()
    assert plain["profile"] is None


def test_a_profile_from_a_batch_copies_its_options_and_header(auth_client, other_client):
    import json

    batch = upload(
        auth_client,
        ODD,
        **{k: json.dumps(v) if k == "columns" else v for k, v in ODD_OPTIONS.items()},
    ).json()
    assert batch["profile"] is None
    response = create(auth_client, name="From batch", from_batch=batch["id"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["options"] == ODD_OPTIONS
    assert body["header"] == ["wann", "was genau", "wieviel"]
    again = upload(auth_client, ODD).json()
    assert again["profile"]["id"] == body["id"]
    assert again["profile"]["matched_by"] == "fingerprint"

    # Another user's batch does not exist for B.
    foreign = create(other_client, name="Stolen", from_batch=batch["id"])
    assert foreign.status_code == 400
    assert "from_batch" in foreign.json()


def test_a_profile_from_a_non_table_batch_is_400(auth_client):
    qif = "!Type:Bank\nD03/01/2026\nT-3.50\nPBakery\n^\n"
    batch = upload(auth_client, qif, name="s.qif").json()
    response = create(auth_client, name="QIF", from_batch=batch["id"])
    assert response.status_code == 400
    assert "from_batch" in response.json()


def test_sample_and_from_batch_together_are_400(auth_client):
    batch = upload(auth_client, "Date,Description,Amount\n2026-03-01,Tea,-2.00\n").json()
    response = auth_client.post(
        URL,
        {"name": "Both", "from_batch": batch["id"], "sample": file("s.csv", ODD)},
        format="multipart",
    )
    assert response.status_code == 400
    assert "from_batch" in response.json()


def test_deleting_a_profile_leaves_its_previews(auth_client):
    profile = create(auth_client, name="Odd", options=ODD_OPTIONS).json()
    batch = upload(auth_client, ODD, profile="Odd").json()
    assert auth_client.delete(f"{URL}{profile['id']}/").status_code == 204
    assert auth_client.get(f"{IMPORTS}{batch['id']}/").json()["profile"] is None

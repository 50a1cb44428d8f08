"""core/crypto.py: Fernet encryption of stored secrets, key configuration and rotation."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from connections.models import Connection
from core.crypto import decrypt, encrypt, encrypted_fields, rotate_all
from users.tests.factories import UserFactory


def test_round_trip_and_every_encryption_differs(settings):
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    first, second = (
        encrypt("https://u:p@bridge.example/sf"),
        encrypt("https://u:p@bridge.example/sf"),
    )
    assert first != second and "u:p" not in first
    assert decrypt(first) == decrypt(second) == "https://u:p@bridge.example/sf"


def test_development_key_comes_from_secret_key(settings):
    settings.ENCRYPTION_KEYS = []
    token = encrypt("secret")
    assert decrypt(token) == "secret"
    settings.SECRET_KEY = "another secret key of at least fifty characters, for the test"
    assert decrypt(token) is None


def test_a_wrong_key_reads_none_and_is_logged(settings, caplog):
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = encrypt("hunter2")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with caplog.at_level(logging.ERROR, logger="core.crypto"):
        assert decrypt(token) is None
    assert "cannot be decrypted" in caplog.text
    assert "hunter2" not in caplog.text and token not in caplog.text


def test_every_key_decrypts_the_first_encrypts(settings):
    old, new = Fernet.generate_key(), Fernet.generate_key()
    settings.ENCRYPTION_KEYS = [old.decode()]
    token = encrypt("secret")
    settings.ENCRYPTION_KEYS = [new.decode(), old.decode()]
    assert decrypt(token) == "secret"
    fresh = encrypt("secret")
    assert Fernet(new).decrypt(fresh.encode()) == b"secret"


@pytest.mark.parametrize(
    "keys", [["not a key"], ["c2hvcnQ="], [Fernet.generate_key().decode()[:-4]]]
)
def test_bad_encryption_keys_are_improperly_configured(settings, keys):
    settings.ENCRYPTION_KEYS = keys
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS"):
        encrypt("secret")


def test_the_connection_access_url_is_an_encrypted_field():
    assert (Connection, "access_url") in encrypted_fields()


@pytest.mark.django_db
def test_rotate_all_counts_rewritten_and_unreadable_values(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    user = UserFactory()
    for index in range(3):
        Connection.objects.create(user=user, name=f"c{index}", access_url=f"https://u:p{index}@h/x")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    Connection.objects.create(user=user, name="lost", access_url="https://u:lost@h/x")
    settings.ENCRYPTION_KEYS = [new, old]
    counts = rotate_all(batch_size=2)
    assert counts["connections.Connection.access_url"] == 3
    assert counts["unreadable"] == 1
    settings.ENCRYPTION_KEYS = [new]
    assert sorted(Connection.objects.exclude(name="lost").values_list("access_url", flat=True)) == [
        "https://u:p0@h/x",
        "https://u:p1@h/x",
        "https://u:p2@h/x",
    ]
    assert Connection.objects.get(name="lost").access_url is None

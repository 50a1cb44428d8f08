"""Secrets stored encrypted at rest: one model field, one key setting, one rotation.

`EncryptedTextField` keeps a secret (a bank connection's access URL, a webhook's signing
secret) as a Fernet token — AES-128-CBC with an HMAC-SHA256 tag, from `cryptography` —
and hands the code the plain text. Nothing is hand-rolled here: Fernet is the
library's authenticated recipe, MultiFernet its key-rotation wrapper.

Keys come from ENCRYPTION_KEYS (comma-separated Fernet keys, required in production):
the first encrypts, every one decrypts. Rotating: put a new key first, keep the old
ones after it, run `manage.py rotate_encryption_keys` (every encrypted value is written
again under the first key), then drop the old keys (docs/security.md). Development
without the setting derives one key from SECRET_KEY, so `make run` needs no setup.

A value no key can open (its key was dropped too early) reads as None and is logged
once per read: the owner of the secret sees "reconnect" rather than a server error.
"""

from __future__ import annotations

import base64
import logging
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

logger = logging.getLogger(__name__)


def _development_key(secret_key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"budget-tracker encryption"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(_development_key(secret_key))])
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be comma-separated Fernet keys (32 url-safe base64 bytes)."
        ) from exc


def fernet() -> MultiFernet:
    keys = tuple(key.strip() for key in settings.ENCRYPTION_KEYS if key.strip())
    return _fernet(keys, settings.SECRET_KEY)


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str | None:
    """The plain text, or None when no configured key opens the token."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        logger.error("A stored secret cannot be decrypted with ENCRYPTION_KEYS")
        return None


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token of the value. Not searchable or orderable by
    value (each encryption differs); excluded from admin forms by the admins that show
    its model."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) holding an EncryptedTextField, across installed apps."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def rotate_all(batch_size: int = 500) -> dict[str, int]:
    """Write every encrypted value again under the first key; returns counts per model.
    A value no key opens is left as it is (and counted under `unreadable`)."""
    counts: dict[str, int] = {"unreadable": 0}
    for model, name in encrypted_fields():
        label = f"{model._meta.label}.{name}"
        counts[label] = 0
        stored = model._default_manager.exclude(**{name: ""}).exclude(**{f"{name}__isnull": True})
        pks = list(stored.values_list("pk", flat=True))
        for start in range(0, len(pks), batch_size):
            chunk = pks[start : start + batch_size]
            with transaction.atomic():
                rows = model._default_manager.select_for_update().filter(pk__in=chunk)
                for pk, value in rows.values_list("pk", name):
                    if value is None:
                        counts["unreadable"] += 1
                        continue
                    model._default_manager.filter(pk=pk).update(**{name: value})
                    counts[label] += 1
    return counts

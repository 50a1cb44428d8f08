"""Upload checks shared by every endpoint that accepts files (SPEC §3: 413 / 415), and
what a failing file storage answers (503).

Stored files go through Django's storage API only (`STORAGES["default"]`: local disk, or
S3-compatible object storage shared by every app server, docs/scaling.md), so the errors
a storage call may raise are those of the disk (OSError) or of boto3 (botocore's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import filetype
from django.core.files.uploadedfile import UploadedFile
from rest_framework import status
from rest_framework.exceptions import APIException

from core.exceptions import ApplicationError

logger = logging.getLogger(__name__)


def _storage_errors() -> tuple[type[Exception], ...]:
    errors: tuple[type[Exception], ...] = (OSError,)
    try:  # boto3 is there when STORAGE_BACKEND=s3 can be used (django-storages[s3])
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - a requirement, but storage works without it
        return errors
    return (*errors, BotoCoreError, ClientError)


# What a failing storage call raises: the disk's errors, the object store's (unreachable,
# timed out, access denied, no such bucket). A missing file is FileNotFoundError either way.
STORAGE_ERRORS = _storage_errors()


class StorageUnavailable(ApplicationError):
    """The file storage failed (unreachable, refused, full): a retryable 503."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "storage_unavailable"
    retry_after = 5

    def __init__(self, message: str = "The file storage is unavailable; retry shortly.") -> None:
        super().__init__(message)


@contextmanager
def storage_call(action: str) -> Iterator[None]:
    """Run storage calls: a failing storage becomes StorageUnavailable (logged with the
    cause, as `action`); FileNotFoundError (no such file) passes through unchanged."""
    try:
        yield
    except FileNotFoundError:
        raise
    except STORAGE_ERRORS as error:
        logger.error("File storage unavailable (%s): %s: %s", action, type(error).__name__, error)
        raise StorageUnavailable() from error


class FileTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"
    default_detail = "The uploaded file is too large."


class UnsupportedFileType(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_file_type"
    default_detail = "The uploaded file's type is not supported."


def check_upload(
    upload: UploadedFile, *, field: str, max_bytes: int, allowed_mimes: frozenset[str]
) -> str:
    """Checks size and sniffed content type (not the client's claim); returns the MIME type."""
    if upload.size is not None and upload.size > max_bytes:
        raise FileTooLarge(
            f"{field}: the file is {upload.size} bytes; the limit is {max_bytes} bytes."
        )
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in allowed_mimes:
        found = kind.mime if kind else "unknown"
        accepted = ", ".join(sorted(allowed_mimes))
        raise UnsupportedFileType(f"{field}: {found} files are not accepted; use {accepted}.")
    return kind.mime

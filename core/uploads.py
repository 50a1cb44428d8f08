"""Upload checks shared by every endpoint that accepts files (SPEC §3: 413 / 415)."""

from __future__ import annotations

import filetype
from django.core.files.uploadedfile import UploadedFile
from rest_framework import status
from rest_framework.exceptions import APIException


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

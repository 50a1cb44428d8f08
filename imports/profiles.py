"""Saved import mappings (`/imports/profiles/`, SPEC §11): CSV/XLSX options under a
name, recognised by the fingerprint of the file's header row. A profile belongs to a
book (SPEC §14): its members share it, and uploads into the book use only its profiles.

Fingerprint: the header row's cells, each normalised like column names are
(`parsers.columns.normalise_header`: case folded, accents and punctuation dropped,
single spaces), trailing empty cells dropped, joined with U+001F and hashed (SHA-256,
hex). A file's header row is the one the parser finds with the profile's options; an
upload without options is compared on each of its first `FINGERPRINT_SCAN_LINES`
non-blank lines (read with the detected encoding and delimiter), first match wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from books.models import Book
from core.exceptions import ApplicationError
from core.locks import UserLock, user_lock
from users.models import User

from .models import MAX_PROFILES_PER_BOOK, ImportBatch, ImportProfile
from .parsers.base import CsvOptions, StatementError
from .parsers.cells import cell_text
from .parsers.columns import explicit_columns, normalise_header
from .parsers.detect import detect_format
from .parsers.table import HEADER_SCAN_LIMIT, Record, find_header

FINGERPRINT_SCAN_LINES = HEADER_SCAN_LIMIT
TABLE_FORMATS = ("csv", "xlsx")
# Text read for a header: far more than a header and its metadata lines need.
_HEADER_TEXT_CHARS = 256 * 1024


class ProfileNotFound(ApplicationError, ValueError):
    """The upload names a profile the book does not have (→ 400 on `profile`)."""

    field = "profile"


def header_cells(cells: Iterable[Any]) -> list[str]:
    """A header row as it is fingerprinted and shown: normalised cells, no trailing blanks."""
    names = [normalise_header(cell_text(cell)) for cell in cells]
    while names and not names[-1]:
        names.pop()
    return names


def fingerprint(header: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(header).encode()).hexdigest()


def _records(content: bytes, fmt: str, options: CsvOptions) -> list[Record]:
    """The first non-blank records of a CSV or XLSX file, enough to find its header.
    Raises StatementError for a file that cannot be read."""
    limit = (options.skip_rows or 0) + FINGERPRINT_SCAN_LINES + 1
    if fmt == "xlsx":
        from .parsers.xlsx_parser import read_sheet

        records = read_sheet(content)
    else:
        from .parsers.csv_parser import decode, detect_delimiter, read_records, split_lines

        text = decode(content, options.encoding)
        cut = len(text) > _HEADER_TEXT_CHARS
        lines = split_lines(text[:_HEADER_TEXT_CHARS])
        if cut and len(lines) > 1:
            lines.pop()  # possibly cut short
        delimiter = options.delimiter or detect_delimiter(lines, options)
        records = read_records(lines, delimiter)
    filled = [
        (line, cells)
        for line, cells in records
        if any(cell is not None and cell_text(cell).strip() for cell in cells)
    ]
    return filled[:limit]


def table_header(content: bytes, *, fmt: str, options: CsvOptions) -> list[str] | None:
    """The header row the parser uses for this CSV/XLSX file with `options` (normalised),
    or None: another format, no header row (columns given by number), or unreadable."""
    if fmt not in TABLE_FORMATS:
        return None
    try:
        table = _records(content, fmt, options)
        header, _ = find_header(table, options, explicit_columns(options.columns))
    except (StatementError, ValueError):
        return None
    if header is None or header.key is None or header.data_start < 1:
        return None
    return header_cells(table[header.data_start - 1][1]) or None


def sample_header(content: bytes, *, filename: str, options: CsvOptions) -> list[str]:
    """The header row of a sample file, for a profile. Raises StatementError (→ 400 on
    `sample`) when the file is not a CSV/XLSX statement or has no header row."""
    fmt = detect_format(content, filename)
    if fmt not in TABLE_FORMATS:
        raise StatementError("A sample must be a CSV or XLSX statement with a header row.")
    try:
        table = _records(content, fmt, options)
        header, problem = find_header(table, options, explicit_columns(options.columns))
    except StatementError:
        raise
    except ValueError as exc:  # e.g. bytes the given encoding cannot decode
        raise StatementError(f"This file cannot be read with these options: {exc}") from None
    if header is None:
        raise StatementError(problem)
    if header.key is None or header.data_start < 1:
        raise StatementError("This file has no header row to recognise it by.")
    return header_cells(table[header.data_start - 1][1])


def _candidate_fingerprints(content: bytes, filename: str) -> list[str]:
    """Fingerprints of the first lines of a CSV/XLSX upload, in file order."""
    fmt = detect_format(content, filename)
    if fmt not in TABLE_FORMATS:
        return []
    try:
        table = _records(content, fmt, CsvOptions())
    except (StatementError, ValueError):
        return []
    found = []
    for _, cells in table[:FINGERPRINT_SCAN_LINES]:
        header = header_cells(cells)
        if sum(1 for cell in header if cell) >= 2:
            found.append(fingerprint(header))
    return found


def profile_for_upload(
    *, book: Book, content: bytes, filename: str, ref: str | None, explicit: bool
) -> tuple[ImportProfile | None, str]:
    """The profile an upload uses and how it was chosen: the one `ref` names (its id,
    else its name, case-insensitive) → "name"; else, when the request gives no options
    of its own (`explicit` false), the one whose header fingerprint is one of the file's
    first lines → "fingerprint"; else (None, ""). Only `book`'s profiles count. Raises
    ProfileNotFound for a `ref` the book has no profile for (another book's id included)."""
    profiles = ImportProfile.objects.filter(book=book)
    if ref is not None:
        ref = ref.strip()
        profile = None
        if ref.isdigit() and len(ref) < 19:
            profile = profiles.filter(pk=int(ref)).first()
        if profile is None:
            profile = profiles.filter(name__iexact=ref).first()
        if profile is None:
            raise ProfileNotFound(
                f"You have no import profile {ref[:100]!r} (give an id or a name)."
            )
        return profile, "name"
    if explicit:
        return None, ""
    known = dict(profiles.exclude(header_fingerprint="").values_list("header_fingerprint", "pk"))
    if not known:
        return None, ""
    for candidate in _candidate_fingerprints(content, filename):
        if candidate in known:
            return profiles.get(pk=known[candidate]), "fingerprint"
    return None, ""


def profile_source_batch(batch: ImportBatch) -> tuple[dict[str, Any], list[str] | None]:
    """Options and header a profile copies from a batch. Raises StatementError for a
    batch that is not a CSV/XLSX import."""
    if batch.format not in TABLE_FORMATS:
        raise StatementError(
            f"This import is a {batch.format.upper()} file; only CSV and XLSX imports have a "
            "mapping to save."
        )
    return dict(batch.options or {}), batch.header


def _save(profile: ImportProfile, *, creating: bool) -> ImportProfile:
    """Save under the book's profile lock: the cap, case-insensitive unique names and one
    profile per header hold under concurrency (the database constraints back them)."""
    with transaction.atomic():
        # IMPORT_PROFILES is only ever taken per book, so its keys are book ids.
        user_lock(UserLock.IMPORT_PROFILES, profile.book_id)
        others = ImportProfile.objects.filter(book_id=profile.book_id)
        if profile.pk:
            others = others.exclude(pk=profile.pk)
        if creating and others.count() >= MAX_PROFILES_PER_BOOK:
            raise ValidationError(
                {
                    "non_field_errors": [
                        f"A book can keep at most {MAX_PROFILES_PER_BOOK} import profiles; "
                        "delete one first."
                    ]
                }
            )
        if others.filter(name__iexact=profile.name).exists():
            raise ValidationError(
                {"name": [f"This book already has an import profile named {profile.name!r}."]}
            )
        if profile.header_fingerprint:
            same = others.filter(header_fingerprint=profile.header_fingerprint).first()
            if same is not None:
                raise ValidationError(
                    {
                        "header": [
                            f"The profile {same.name!r} is already used for files with this "
                            "header; change that one, or save this one without a header."
                        ]
                    }
                )
        try:
            with transaction.atomic():
                profile.save()
        except IntegrityError:
            raise ValidationError(
                {"name": ["A profile with this name or header was saved meanwhile."]}
            ) from None
    return profile


def profile_create(
    *,
    user: User,
    name: str,
    options: dict[str, Any],
    header: list[str] | None,
    book: Book | None = None,
) -> ImportProfile:
    """Create a profile in `book` (default: `user`'s personal book), by `user` (at most
    MAX_PROFILES_PER_BOOK per book; names unique per book, case-insensitive; one profile
    per header fingerprint). Raises ValidationError."""
    if book is None:
        book = user.personal_book
    profile = ImportProfile(
        book=book,
        user=user,
        name=name,
        options=options,
        header=header,
        header_fingerprint=fingerprint(header) if header else "",
    )
    return _save(profile, creating=True)


def profile_update(
    *,
    profile: ImportProfile,
    name: str | None = None,
    options: dict[str, Any] | None = None,
    header: list[str] | None = None,
    set_header: bool = False,
) -> ImportProfile:
    """Change a profile's name, options and (when `set_header`) header. Same rules as
    `profile_create`."""
    if name is not None:
        profile.name = name
    if options is not None:
        profile.options = options
    if set_header:
        profile.header = header
        profile.header_fingerprint = fingerprint(header) if header else ""
    return _save(profile, creating=False)

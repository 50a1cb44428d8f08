"""Text encodings of uploaded statements: byte-order marks and client-named encodings."""

from __future__ import annotations

import codecs

# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Codecs that `codecs.lookup` knows but that are not a way to write a text file:
# "undefined" always fails, the others turn escapes or domain labels into text.
_NOT_FILE_ENCODINGS = frozenset(
    {"undefined", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "escape"}
)


def bom_codec(content: bytes) -> str | None:
    """The codec a byte-order mark at the start of `content` names (it drops the BOM)."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return codec
    return None


def decode_sample(content: bytes, codec: str) -> str:
    """The start of a BOM-marked file as text, ignoring a character cut at the end."""
    return codecs.getincrementaldecoder(codec)(errors="replace").decode(content, final=False)


def text_codec(name: str) -> str:
    """The codec for an encoding name a client gave; raises `ValueError` (message fit
    for a client) for a name Python does not know or a codec that does not decode
    bytes to text (base64, rot13, undefined, ...)."""
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise ValueError(f"Unknown encoding {name!r}.") from None
    name_used = info.name.replace("-", "_")
    if not getattr(info, "_is_text_encoding", True) or name_used in _NOT_FILE_ENCODINGS:
        raise ValueError(f"{name!r} is not a text encoding.")
    return info.name


def decode_guess(content: bytes) -> str:
    """Text of a file with no BOM and no named encoding: UTF-8 when the bytes are valid
    UTF-8, else Windows-1252 (most European banks' exports), else Latin-1, which reads
    any bytes."""
    for encoding in ("utf-8", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")

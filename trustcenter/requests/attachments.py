"""Files on a request's thread: only PDF, PNG, JPEG, plain text and CSV, told apart by their content.

The name a browser sends says nothing reliable about a file, so the type comes from the bytes
(`filetype` reads their signatures); text has no signature, so it must be UTF-8 without control
characters. What is kept is sealed under the request's key, like the thread itself.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata

import filetype

MAX_BYTES = 10 * 1024 * 1024
MAX_NAME = 120
BINARY_TYPES = {"application/pdf": "PDF", "image/png": "PNG image", "image/jpeg": "JPEG image"}
TEXT, CSV = "text/plain", "text/csv"
ALLOWED_WORDS = "PDF, PNG, JPEG, plain text or CSV"
# Tab, line feed and carriage return are text; every other control character says "binary".
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AttachmentRefused(ValueError):
    """The file cannot be kept; the message says why, in words for the person who sent it."""


def media_type_of(data: bytes, filename: str) -> str:
    """The type of `data` from its content; raises `AttachmentRefused` for anything not allowed."""
    if not data:
        raise AttachmentRefused("That file is empty.")
    if len(data) > MAX_BYTES:
        raise AttachmentRefused(f"Files can be at most {MAX_BYTES // (1024 * 1024)} MB.")
    kind = filetype.guess(data)
    if kind is not None:
        if kind.mime in BINARY_TYPES:
            return kind.mime
        raise AttachmentRefused(f"Only {ALLOWED_WORDS} files can be attached; this one is {kind.extension.upper()}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentRefused(f"Only {ALLOWED_WORDS} files can be attached; this one is none of them.") from None
    if CONTROL.search(text):
        raise AttachmentRefused(f"Only {ALLOWED_WORDS} files can be attached; this one is none of them.")
    return CSV if filename.lower().endswith(".csv") and _parses_as_csv(text) else TEXT


def safe_name(filename: str, media_type: str) -> str:
    """A name to show and to download under: no path, no control characters, an extension that matches."""
    base = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[^\w.\- ()]+", "_", base).strip(" ._") or "file"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem[:MAX_NAME]}.{EXTENSIONS[media_type]}"


EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", TEXT: "txt", CSV: "csv"}


def _parses_as_csv(text: str) -> bool:
    try:
        rows = list(csv.reader(io.StringIO(text[:65536])))
    except csv.Error:
        return False
    return len(rows) > 0

"""How organisation names are compared: one rule for uniqueness and lookup by blind index."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 200


def clean_organisation_name(name: str) -> str:
    """The name as shown: NFC, runs of white space made one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", name or "").split())


def organisation_name_key(name: str) -> str:
    """What the blind index covers: the cleaned name, case-folded, so "ACME Ltd" and "Acme ltd" are one name."""
    return clean_organisation_name(name).casefold()

"""The one rule for e-mail addresses: how they are cleaned, compared and looked up.

- Surrounding white space is removed and the text is put in Unicode NFC form.
- The domain is compared in its ASCII (IDNA 2008, UTS 46) form, lower case:
  `Northwind.Example` and `northwind.example` are one domain, while
  `straße.example` (`xn--strae-oqa.example`) and `strasse.example` are two.
- The local part (before the last `@`) is compared case-insensitively by Unicode
  lower-casing, as every large mail provider does, but never by case folding,
  which would make `ß` and `ss` one letter and so join two different addresses.

The result is stored, mailed to and blind-indexed; forms, throttling and
services all go through `normalise_email`.
"""

from __future__ import annotations

import unicodedata

import idna

MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64
_FORBIDDEN_IN_LOCAL = set('<>()[]\\,;:"')


class InvalidAddress(ValueError):
    """Text that is not an e-mail address we can deliver to; the message is safe to show."""

    def __init__(self) -> None:
        super().__init__("Enter a valid e-mail address, like name@example.com.")


def normalise_email(text: str) -> str:
    """The canonical form of an address: `local@ascii-domain`, as described above."""
    value = unicodedata.normalize("NFC", (text or "").strip())
    local, at, domain = value.rpartition("@")
    if not at or not local or len(value) > MAX_LENGTH or len(local) > MAX_LOCAL_LENGTH:
        raise InvalidAddress()
    if any(c.isspace() or unicodedata.category(c)[0] == "C" or c in _FORBIDDEN_IN_LOCAL for c in local):
        raise InvalidAddress()
    return f"{local.lower()}@{_ascii_domain(domain)}"


def _ascii_domain(domain: str) -> str:
    try:
        ascii_domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidAddress() from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(labels) or len(ascii_domain) > 253:
        raise InvalidAddress()
    return ascii_domain.lower()


def is_valid_email(text: str) -> bool:
    try:
        normalise_email(text)
    except InvalidAddress:
        return False
    return True

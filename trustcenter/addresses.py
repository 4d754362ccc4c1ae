"""The one rule for e-mail addresses: how they are cleaned, compared and looked up.

- Surrounding white space is removed and the text is put in Unicode NFC form.
- The domain is compared in its ASCII (IDNA 2008, UTS 46) form, lower case:
  `Northwind.Example` and `northwind.example` are one domain, while
  `straße.example` (`xn--strae-oqa.example`) and `strasse.example` are two.
- The local part (before the `@`) is compared case-insensitively by Unicode
  lower-casing, as every large mail provider does, but never by case folding,
  which would make `ß` and `ss` one letter and so join two different addresses.
- Only plain addresses are accepted: one `@`; a local part of dot-separated
  atoms (letters, digits and ``!#$%&'*+-/=?^_`{|}~``, no leading, trailing or
  doubled dot, no `=?` that a mail header parser would decode as an encoded
  word); a domain name with at least two labels whose last is not all digits.
  No quoted local parts, comments or address literals: they are how one typed
  address becomes several recipients.

The result is stored, mailed to and blind-indexed; forms, throttling and
services all go through `normalise_email`.
"""

from __future__ import annotations

import unicodedata

import idna

MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64
# RFC 5322 atext; non-ASCII letters and digits are allowed too (RFC 6531).
_ASCII_ATEXT = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")


class InvalidAddress(ValueError):
    """Text that is not an e-mail address we can deliver to; the message is safe to show."""

    def __init__(self) -> None:
        super().__init__("Enter a valid e-mail address, like name@example.com.")


def normalise_email(text: str) -> str:
    """The canonical form of an address: `local@ascii-domain`, as described above."""
    value = unicodedata.normalize("NFC", (text or "").strip())
    if value.count("@") != 1 or len(value) > MAX_LENGTH:
        raise InvalidAddress()
    local, _, domain = value.partition("@")
    if not _plain_local_part(local):
        raise InvalidAddress()
    return f"{local.lower()}@{_ascii_domain(domain)}"


def _plain_local_part(local: str) -> bool:
    """A dot-atom of atext (or non-ASCII letters and digits), and nothing a header parser would decode."""
    if not local or len(local) > MAX_LOCAL_LENGTH or "=?" in local:
        return False
    atoms = local.split(".")
    return all(atoms) and all(c in _ASCII_ATEXT or (ord(c) > 127 and c.isalnum()) for c in local.replace(".", ""))


def _ascii_domain(domain: str) -> str:
    try:
        ascii_domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidAddress() from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(labels) or len(ascii_domain) > 253 or labels[-1].isdigit():
        raise InvalidAddress()
    return ascii_domain.lower()


def is_valid_email(text: str) -> bool:
    try:
        normalise_email(text)
    except InvalidAddress:
        return False
    return True

"""Redirect targets from user input: same site, path only."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """Return `target` if it is a local path on this site, else None.

    Refuses absolute URLs, scheme-relative `//host` and backslash tricks
    that browsers treat as another host.
    """
    if not target or len(target) > 1000:
        return None
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target

"""The countries (ISO 3166) and time zones (IANA) a profile may name: lists, not free text."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

import pycountry


@lru_cache(maxsize=1)
def country_names() -> tuple[str, ...]:
    """ISO 3166-1 countries by their common English name (what the profile stores), alphabetically."""
    return tuple(sorted((getattr(c, "common_name", None) or c.name for c in pycountry.countries), key=str.casefold))


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """IANA zones people live in ("Europe/London"), without the legacy aliases ("EST5EDT", "Etc/GMT+1")."""
    zones = {z for z in zoneinfo.available_timezones()
             if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))}
    return tuple(sorted(zones | {"UTC"}))


def is_country(name: str) -> bool:
    return name in country_names()


def is_time_zone(name: str) -> bool:
    return name in time_zones()

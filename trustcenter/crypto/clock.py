"""Time and ids for the crypto package, which imports nothing of the application."""

from __future__ import annotations

import datetime as dt
import uuid


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_id() -> str:
    """A random id (UUID4 text): unguessable, and free to create in any process."""
    return str(uuid.uuid4())

"""A process-local evidence version for the public page cache, read from the database at most every 15 s.

Public FAQ pages show each claim's latest result, so the page cache keys them
by the newest finished run as well as by the content version: a new result
reaches every process's cached pages within `REFRESH_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from trustcenter.evidence.models import EvidenceRun

log = logging.getLogger(__name__)
REFRESH_SECONDS = 15.0


class EvidenceVersion:
    """The id of the newest finished evidence run, as this process last read it."""

    def __init__(self, engine: Engine, refresh_seconds: float = REFRESH_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.refresh_seconds, self.clock = engine, refresh_seconds, clock
        self._value, self._read_at = -1, float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> int:
        """The version, re-read when older than `refresh_seconds` (one cheap query)."""
        if self.clock() - self._read_at >= self.refresh_seconds:
            with self._lock:
                if self.clock() - self._read_at >= self.refresh_seconds:
                    self._refresh()
        return self._value

    def _refresh(self) -> None:
        query = select(func.max(EvidenceRun.id)).where(EvidenceRun.finished_at.is_not(None))
        try:
            with self.engine.connect() as connection:
                self._value = connection.scalar(query) or 0
        except Exception as error:  # noqa: BLE001 - a database hiccup must not take public pages down
            log.warning("evidence version not refreshed: %s", type(error).__name__)
        self._read_at = self.clock()

    def expire(self) -> None:
        """Read again on the next call: this process has just stored a run."""
        self._read_at = float("-inf")

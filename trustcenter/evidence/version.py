"""A process-local evidence version for the public page cache, read from the database at most every 15 s.

Public FAQ pages show each claim's latest result, so the page cache keys them
by the newest stored result as well as by the content version: a new result
reaches every process's cached pages within `REFRESH_SECONDS`. The newest
result and the number of results, not the newest run: runs take their id
when they start, and results their id when they are written, so a run that
started earlier may commit after one started later; the count still moves.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from trustcenter.evidence.models import EvidenceResult

log = logging.getLogger(__name__)
REFRESH_SECONDS = 15.0


class EvidenceVersion:
    """The id of the newest stored evidence result, as this process last read it."""

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
        query = select(func.max(EvidenceResult.id), func.count(EvidenceResult.id))
        try:
            with self.engine.connect() as connection:
                newest, count = connection.execute(query).one()
                self._value = (newest or 0) * 1_000_003 + count  # one number that moves when either does
        except Exception as error:  # noqa: BLE001 - a database hiccup must not take public pages down
            log.warning("evidence version not refreshed: %s", type(error).__name__)
        self._read_at = self.clock()

    def expire(self) -> None:
        """Read again on the next call: this process has just stored a run."""
        self._read_at = float("-inf")

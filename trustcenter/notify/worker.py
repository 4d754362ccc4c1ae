"""The delivery loop, run by `trustcenter worker` or by a thread inside the web process."""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import socket
import threading
from typing import Callable, Sequence

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from trustcenter.notify.outbox import DeliveryReport, deliver_batch
from trustcenter.notify.transports import Transport

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    """host:pid:random, so a lease names the process that holds it."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


# Work other domains hand to the worker (e.g. answering password-reset requests, which
# queues mail); each call handles what is due and returns how much it handled.
Task = Callable[[], int]


def run_worker(session_factory: Callable[[], Session], transport: Transport, worker_id: str,
               poll: float = 2.0, stop_event: threading.Event | None = None, once: bool = False,
               batch: int = 20, tasks: Sequence[Task] = ()) -> DeliveryReport:
    """Run `tasks`, then deliver a batch, until `stop_event` is set (or, with `once`, until nothing is due)."""
    stop = stop_event or threading.Event()
    total = DeliveryReport()
    while not stop.is_set():
        _run_tasks(tasks, worker_id, once)
        try:
            report = deliver_batch(session_factory, transport, worker_id, batch=batch)
        except Exception as exc:  # the database may be restarting: wait and try again
            if once:
                raise
            log.warning("mail worker %s: batch failed (%s); retrying in %.0f s", worker_id, _short(exc), poll)
            stop.wait(poll)
            continue
        total += report
        if report.claimed:
            log.info("mail worker %s: %s", worker_id, report)
        if report.claimed < batch or report.released:
            if once:
                break
            stop.wait(poll)
    return total


def _run_tasks(tasks: Sequence[Task], worker_id: str, once: bool) -> None:
    """Each task on its own: one that fails must not hold up the mail (or the other tasks)."""
    for task in tasks:
        try:
            task()
        except Exception as exc:
            if once:
                raise
            log.warning("mail worker %s: task %s failed (%s); trying again next round",
                        worker_id, getattr(task, "__name__", "?"), _short(exc))


def _short(exc: BaseException) -> str:
    """Class and first line of a database error; its SQL parameters hold nothing personal but are noise."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = str(exc.orig).strip().splitlines()
        return f"{type(exc.orig).__name__}: {first[0] if first else ''}"
    return type(exc).__name__


class BackgroundWorker:
    """`run_worker` in a daemon thread of the web process; for development and small installs."""

    def __init__(self, session_factory: Callable[[], Session], transport: Transport,
                 poll: float = 2.0, batch: int = 20, tasks: Sequence[Task] = ()) -> None:
        self.session_factory, self.transport = session_factory, transport
        self.poll, self.batch, self.tasks = poll, batch, tasks
        self.worker_id = ""  # named at start, in the process that runs the thread (after any fork)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread unless it is already running."""
        with self._lock:
            if not self.running:
                self._start_locked()

    def _start_locked(self) -> None:
        self._stop.clear()
        self.worker_id = new_worker_id()
        self._thread = threading.Thread(target=self._run, name="mail-worker", daemon=True)
        self._thread.start()

    def start_once(self) -> None:
        """Start the thread unless it was ever started; stop it when the interpreter exits."""
        if self._thread is not None:  # every request comes here: skip the lock once started
            return
        with self._lock:
            if self._thread is not None:
                return
            self._start_locked()
        atexit.register(self.stop)

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the mail in hand, then end the thread."""
        self._stop.set()
        atexit.unregister(self.stop)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        log.info("mail worker %s started in-process (%r)", self.worker_id, self.transport)
        run_worker(self.session_factory, self.transport, self.worker_id, poll=self.poll,
                   stop_event=self._stop, batch=self.batch, tasks=self.tasks)

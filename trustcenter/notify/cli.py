"""`trustcenter worker`: deliver queued mail until stopped (SIGTERM or Ctrl-C finish the mail in hand)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger("trustcenter.notify")


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (for cron or a deploy step).")
@click.option("--batch", default=20, show_default=True, type=click.IntRange(1, 500),
              help="Messages claimed per round.")
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds to wait when nothing is due.")
@with_appcontext
def worker_command(once: bool, batch: int, poll: float) -> None:
    """Deliver queued mail (and answer password-reset requests). Run as many as you like on PostgreSQL."""
    from trustcenter.extensions import session_factory
    from trustcenter.notify import make_transport
    from trustcenter.registry import WORKER_TASKS, registry
    from trustcenter.notify.worker import new_worker_id, run_worker

    _log_to_stderr()
    transport = current_app.extensions.get("mail_transport") or make_transport(current_app.config,
                                                                               current_app.instance_path)
    worker_id = new_worker_id()
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    log.info("mail worker %s delivering through %r", worker_id, transport)
    try:
        app = current_app._get_current_object()  # the app itself, not the proxy: the factory outlives the context
        total = run_worker(session_factory(app), transport, worker_id, poll=poll, stop_event=stop, once=once,
                           batch=batch, tasks=registry(app, WORKER_TASKS))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("mail worker %s stopped: %s", worker_id, total)


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGTERM and SIGINT ask the loop to stop after the current mail; returns the old handlers."""
    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("mail worker: %s received, finishing the current mail", signal.Signals(signum).name)
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous  # only the main thread may set handlers; the caller owns `stop` then
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, handle)
    return previous


def _log_to_stderr() -> None:
    """One line per batch on stderr, unless logging is already configured."""
    if logging.getLogger().handlers or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False

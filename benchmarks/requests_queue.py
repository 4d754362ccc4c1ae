"""Latency of the staff request queue over a million requests on PostgreSQL, first page and 1,000 pages deep.

    .venv/bin/python benchmarks/seed_requests.py     # once: the scratch databases, a million requests
    .venv/bin/python benchmarks/requests_queue.py [--runs 200] [--depth 1000] [--keep]

The target: `requests.service.queue_page` answers within 50 ms at p95 on its
first page and on a page reached 1,000 pages deep, with and without filters.

Every case is one set of filters (none, a kind, a customer, overdue, nobody
assigned, and the three together) on the open queue (the default) and on
all states, at page 1 and at page 1,001: the script walks the cursor 1,000
pages of 50 with `queue_page` itself, or as deep as the filters go. Each case
is timed `--runs` times in interleaved rounds of:

  page     `queue_page` as the staff queue calls it: a fresh session, the keyset query, 51 ORM objects,
           the audit entry (`requests.viewed`, head row locked, sealed, signed) and the commit
  query    the same SELECT alone, through the ORM in a fresh session (no audit entry, no commit)
  names    the query, then each row's `requester_name` opened, as the page's template does
  SQL      the same SQL text and parameters on a raw psycopg connection (the baseline)
  SELECT 1 a round trip to the server on that connection (the floor)

and the script prints p50/p95/p99 in milliseconds, the ratios of the medians
to the SQL baseline measured in the same rounds, and `EXPLAIN (ANALYZE,
BUFFERS)` of the SQL for the deep pages and for any case over the target. It
waits for the machine to go quiet before each case and marks with `*` cases
during which other processes used more than 0.15 of a core.

`--candidate NAME` (repeatable) adds a candidate index or statistics object
(see CANDIDATES) for the run and drops it afterwards, to measure a schema change before making it. The scratch
databases are dropped at the end unless `--keep` is given. Exits 2 when they
are missing or not seeded; 0 whatever the latencies: they are reported, not
asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import (
    CLOCK_TICKS,
    MAX_FOREIGN_CORES,
    cpu_model,
    machine_busy_seconds,
    own_cpu_seconds,
    wait_for_idle,
)
from benchmarks.seed_requests import Scratch, build_app, scratch_arguments, seeded_rows

TARGET_P95_MS = 50.0
PAGE_SIZE = 50  # routes.QUEUE_PAGE_SIZE
VARIANTS = ("page", "query", "names", "SQL", "SELECT 1")
OPEN_STATES = ("submitted", "acknowledged", "in_progress", "awaiting_requester")
OPEN_SQL = f"state IN ({', '.join(repr(state) for state in OPEN_STATES)})"


def index(name: str, columns: str, where: str = "") -> tuple[str, str]:
    """A candidate index on rights_requests: (its name, the statement that creates it)."""
    return name, f"CREATE INDEX {name} ON rights_requests ({columns})" + (f" WHERE {where}" if where else "")


# Schema changes to measure before making them: name -> (the object, the statement that creates it).
CANDIDATES = {
    # The open queue in due order, whatever the filters: only open rows, so it stays small.
    "open-due": index("ix_rights_requests_open_due", "due_on, id", OPEN_SQL),
    # The open requests nobody has taken yet, in due order: the triage view.
    "open-unassigned-due": index("ix_rights_requests_open_unassigned_due", "due_on, id",
                                 f"{OPEN_SQL} AND assignee_id IS NULL"),
    # "Nobody yet" in due order, in any state.
    "unassigned-due": index("ix_rights_requests_unassigned_due", "due_on, id", "assignee_id IS NULL"),
    # One customer's open requests in due order.
    "open-org-due": index("ix_rights_requests_open_org_due", "org_id, due_on, id", OPEN_SQL),
    # One customer's requests in due order, in any state.
    "org-due": index("ix_rights_requests_org_due", "org_id, due_on, id"),
    # How state and assignee go together: open requests are often unassigned, closed ones rarely.
    "state-assignee-stats": (
        "rights_requests_state_assignee",
        "CREATE STATISTICS rights_requests_state_assignee (mcv) ON state, assignee_id FROM rights_requests"),
}


@dataclass
class Case:
    label: str
    filters: dict[str, str]
    deep: bool
    depth: int = 0  # pages walked before the measured one
    rows: int = 0
    samples: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in VARIANTS})
    foreign_cores: float = 0.0
    plan: str = ""


def cases(org_ids: dict[str, str]) -> list[Case]:
    """Each filter set on the open queue and on all states, on the first page and deep."""
    filter_sets = [
        ("no filters", {}),
        ("kind=erasure", {"kind": "erasure"}),
        ("org=largest", {"org_id": org_ids["largest"]}),
        ("org=smallest", {"org_id": org_ids["smallest"]}),
        ("due=overdue", {"due": "overdue"}),
        ("assignee=none", {"assignee": "none"}),
        ("erasure+largest+none", {"kind": "erasure", "org_id": org_ids["largest"], "assignee": "none"}),
    ]
    return [Case(f"{'deep' if deep else 'first'} {state or 'open'} {name}", {**filters, "state": state}, deep)
            for deep in (False, True) for state in ("", "all") for name, filters in filter_sets]


# --------------------------------------------------------------------------- the measured calls

class Bench:
    """The app on the scratch databases, a staff viewer, and a raw connection for the baselines."""

    def __init__(self, scratch: Scratch) -> None:
        from trustcenter.accounts.models import User
        from trustcenter.extensions import db, session_factory
        from trustcenter.requests import service

        self.app = build_app(scratch)
        self.new_session = session_factory(app=self.app)
        with self.app.app_context():
            self.engine = db.engine
        self.service = service
        with self.session() as session:
            staff = session.scalars(select(User).where(User.role == "staff").order_by(User.id)).first()
        self.viewer = service.Viewer(staff, "127.0.0.1")
        self.today = service.Clock(self.app.config["WORKING_CALENDAR"], self.app.config["TIMEZONE"]).today()
        # Never prepared, as on the app's connections: the pool's rollback clears psycopg's prepared statements,
        # so every query there is planned for its own values. A prepared one may get a generic plan.
        self.raw = psycopg.connect(scratch.conninfo(), autocommit=True, prepare_threshold=None)
        self.keystore_name = f"{scratch.name}_keys"

    @contextmanager
    def session(self) -> Iterator[Any]:
        session = self.new_session()
        try:
            yield session
        finally:
            session.close()

    def filters(self, case: Case, after: tuple[dt.date, str] | None = None) -> Any:
        return self.service.QueueFilters(after=after, **case.filters)

    def page(self, filters: Any) -> tuple[list[Any], tuple[dt.date, str] | None]:
        with self.session() as session:
            return self.service.queue_page(session, self.viewer, filters, self.today, PAGE_SIZE)

    def walk(self, case: Case, pages: int) -> tuple[dt.date, str] | None:
        """The cursor after `pages` pages, or of the last page that has a next one; counts the pages walked."""
        after = None
        for _ in range(pages):
            _, cursor = self.page(self.filters(case, after))
            if cursor is None:
                break
            after = cursor
            case.depth += 1
        return after

    def capture(self, filters: Any) -> tuple[Any, str, dict[str, Any], int]:
        """What `queue_page` runs for `filters`: the ORM statement, its SQL and parameters, and the rows."""
        from trustcenter.requests.models import RightsRequest

        seen: dict[str, Any] = {}

        def orm(state: Any) -> None:
            if state.is_select and state.statement.column_descriptions[0].get("entity") is RightsRequest:
                seen.setdefault("statement", state.statement)

        def cursor(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            if "FROM rights_requests" in statement and "ORDER BY rights_requests.due_on" in statement:
                seen.setdefault("sql", (statement, dict(parameters)))

        event.listen(self.engine, "before_cursor_execute", cursor)
        try:
            with self.session() as session:
                event.listen(session, "do_orm_execute", orm)
                rows, _ = self.service.queue_page(session, self.viewer, filters, self.today, PAGE_SIZE)
        finally:
            event.remove(self.engine, "before_cursor_execute", cursor)
        sql, parameters = seen["sql"]
        return seen["statement"], sql, parameters, len(rows)

    def variants(self, filters: Any, statement: Any, sql: str, parameters: dict[str, Any]) -> dict[str, Callable]:
        def page() -> None:
            self.page(filters)

        def query() -> None:
            with self.session() as session:
                list(session.scalars(statement))

        def names() -> None:
            with self.session() as session:
                for row in list(session.scalars(statement))[:PAGE_SIZE]:
                    _ = row.requester_name

        def raw_sql() -> None:
            self.raw.execute(sql, parameters).fetchall()

        def select_1() -> None:
            self.raw.execute("SELECT 1").fetchone()

        return {"page": page, "query": query, "names": names, "SQL": raw_sql, "SELECT 1": select_1}

    def backend_pids(self) -> list[int]:
        """Our server processes: every connection to the scratch databases is ours."""
        return [pid for (pid,) in self.raw.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname IN (current_database(), %s)", [self.keystore_name])]

    def explain(self, sql: str, parameters: dict[str, Any]) -> str:
        rows = self.raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters).fetchall()
        return "\n".join(row[0] for row in rows)

    def close(self) -> None:
        from trustcenter.extensions import db

        self.raw.close()
        self.app.extensions["mail_worker"].stop()
        with self.app.app_context():
            db.engine.dispose()
        self.app.extensions["keys"].engine.dispose()


def processes_cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        total += int(rest[11]) + int(rest[12])
    return total / CLOCK_TICKS


def measure(bench: Bench, case: Case, runs: int, warmup: int, depth: int, every_plan: bool) -> None:
    after = bench.walk(case, depth) if case.deep else None
    filters = bench.filters(case, after)
    statement, sql, parameters, case.rows = bench.capture(filters)
    calls = bench.variants(filters, statement, sql, parameters)
    for _ in range(warmup):
        for call in calls.values():
            call()
    pids = bench.backend_pids()
    started = (time.monotonic(), machine_busy_seconds(), own_cpu_seconds() + processes_cpu_seconds(pids))
    for _ in range(runs):
        for name, call in calls.items():
            begin = time.perf_counter()
            call()
            case.samples[name].append((time.perf_counter() - begin) * 1000)
    wall, busy, ours = started
    elapsed = time.monotonic() - wall
    ours = own_cpu_seconds() + processes_cpu_seconds(pids) - ours
    case.foreign_cores = max(0.0, (machine_busy_seconds() - busy - ours) / elapsed)
    if every_plan or case.deep or percentile(case.samples["page"], 95) > TARGET_P95_MS:
        case.plan = bench.explain(sql, parameters)


# --------------------------------------------------------------------------- report

def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def triple(values: list[float]) -> str:
    return "".join(f"{percentile(values, p):7.2f}" for p in (50, 95, 99))


def print_environment(bench: Bench, args: argparse.Namespace) -> None:
    row = bench.raw.execute(
        "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
        "current_setting('work_mem'), current_setting('effective_cache_size'), current_setting('jit'), "
        "pg_size_pretty(pg_table_size('rights_requests')), pg_size_pretty(pg_indexes_size('rights_requests')), "
        "count(*), count(*) FILTER (WHERE state = ANY(%s)) FROM rights_requests", [list(OPEN_STATES)]).fetchone()
    version, shared, work, cache, jit, table, indexes, count, open_count = row
    print(f"CPUs {os.cpu_count()} ({cpu_model()}), {platform.system()} {platform.release()}, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"SQLAlchemy {metadata.version('sqlalchemy')}, psycopg {psycopg.__version__}; app revision {revision()}")
    print(f"PostgreSQL {version} on the same machine: shared_buffers {shared}, work_mem {work}, "
          f"effective_cache_size {cache}, jit {jit}")
    print(f"rights_requests: {count:,} rows, {open_count:,} open ({open_count / count:.1%}); table {table}, "
          f"indexes {indexes}" + (f"; candidates {', '.join(args.candidate)} added for this run"
                                  if args.candidate else ""))
    print(f"{args.runs} interleaved runs per case after {args.warmup} warm-up runs; pages of {PAGE_SIZE}; "
          f"deep pages after walking {args.depth:,} pages with queue_page; today {bench.today}")
    print()


def revision() -> str:
    """The commit measured (read-only git calls: no index refresh, no lock)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, env=env, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "") or "unknown"


def print_report(done: list[Case]) -> None:
    header = (f"{'case':<38}{'page#':>7}{'rows':>5}  {'page p50    p95    p99':>22}  {'query p50    p95    p99':>22}"
              f"  {'SQL p50    p95    p99':>21}  {'names-query':>11}  {'page/SQL':>8}{'query/SQL':>10}"
              f"{'SQL/SELECT 1':>13}")
    print(header)
    print("-" * len(header))
    for case in done:
        medians = {name: statistics.median(values) for name, values in case.samples.items()}
        mark = "*" if case.foreign_cores > MAX_FOREIGN_CORES else " "
        print(f"{case.label:<37}{mark}{case.depth + 1:>7,}{case.rows:>5}  {triple(case.samples['page'])}  "
              f"{triple(case.samples['query'])}  {triple(case.samples['SQL'])}  "
              f"{medians['names'] - medians['query']:>11.2f}  {medians['page'] / medians['SQL']:>8.2f}"
              f"{medians['query'] / medians['SQL']:>10.2f}{medians['SQL'] / medians['SELECT 1']:>13.1f}")
    every = [value for case in done for value in case.samples["SELECT 1"]]
    print(f"\nSELECT 1 round trip, all cases: p50 {percentile(every, 50):.3f} ms, p95 {percentile(every, 95):.3f} ms, "
          f"p99 {percentile(every, 99):.3f} ms. Times in ms; ratios of medians; rows = rows on the measured page; "
          "names-query = what opening each row's requester_name adds (median).")
    if any(case.foreign_cores > MAX_FOREIGN_CORES for case in done):
        print(f"* other processes used more than {MAX_FOREIGN_CORES} cores meanwhile: rerun on a quiet machine.")
    misses = [case for case in done if percentile(case.samples["page"], 95) > TARGET_P95_MS]
    worst = max(done, key=lambda case: percentile(case.samples["page"], 95))
    print(f"\n{len(done) - len(misses)} of {len(done)} cases MEET the target of {TARGET_P95_MS:.0f} ms at p95 for the "
          f"page (audit entry and commit included); the slowest p95 is {percentile(worst.samples['page'], 95):.2f} ms "
          f"({worst.label}, page {worst.depth + 1:,}).")
    for case in misses:
        print(f"  MISSES: {case.label}, page {case.depth + 1:,}: p95 {percentile(case.samples['page'], 95):.2f} ms")


def print_plans(done: list[Case]) -> None:
    for case in done:
        if case.plan:
            print(f"\nEXPLAIN (ANALYZE, BUFFERS): {case.label}, page {case.depth + 1:,}")
            print("\n".join("    " + line for line in case.plan.splitlines()))


# --------------------------------------------------------------------------- main

def organisations(bench: Bench) -> dict[str, str]:
    """The customers with the most and the fewest requests (the provider's own share left out)."""
    counts = bench.raw.execute(
        "SELECT r.org_id, count(*) FROM rights_requests r JOIN organisations o ON o.id = r.org_id "
        "WHERE o.kind = 'customer' GROUP BY r.org_id ORDER BY count(*) DESC").fetchall()
    total = bench.raw.execute("SELECT count(*) FROM rights_requests").fetchone()[0]
    print(f"customer filters: largest {counts[0][1] / total:.1%} of the requests, smallest {counts[-1][1] / total:.1%}")
    return {"largest": counts[0][0], "smallest": counts[-1][0]}


@contextmanager
def candidates(bench: Bench, names: list[str]) -> Iterator[None]:
    """The named candidate indexes and statistics, for the run only."""
    added = []
    try:
        for name in names:
            target, statement = CANDIDATES[name]
            started = time.perf_counter()
            bench.raw.execute(statement)
            added.append((name, target))
            print(f"added {target} in {time.perf_counter() - started:.1f} s:\n    {statement}")
        if added:
            bench.raw.execute("ANALYZE rights_requests")
        yield
    finally:
        for name, target in added:
            kind = "STATISTICS" if name.endswith("-stats") else "INDEX"
            bench.raw.execute(f"DROP {kind} IF EXISTS {target}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_arguments(parser)
    parser.add_argument("--runs", type=int, default=200, help="timed runs per case and variant [200]")
    parser.add_argument("--warmup", type=int, default=10, help="untimed runs first [10]")
    parser.add_argument("--depth", type=int, default=1000, help="pages walked for the deep cases [1000]")
    parser.add_argument("--only", action="append", default=[],
                        help="only the cases whose label contains this text (repeatable: any of them)")
    parser.add_argument("--candidate", action="append", default=[], choices=sorted(CANDIDATES),
                        help="add a candidate index or statistics object for this run (repeatable)")
    parser.add_argument("--all-plans", action="store_true", help="print the plan of every case, not only the "
                        "deep pages and those over the target")
    parser.add_argument("--wait-for-idle", type=float, default=30, help="seconds to wait for a quiet machine [30]")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases for another run")
    return parser.parse_args()


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so the candidates and scratch databases go


def run(bench: Bench, args: argparse.Namespace) -> None:
    with candidates(bench, args.candidate):
        print_environment(bench, args)
        chosen = [case for case in cases(organisations(bench))
                  if not args.only or any(text in case.label for text in args.only)]
        for number, case in enumerate(chosen, 1):
            wait_for_idle(args.wait_for_idle)
            started = time.perf_counter()
            measure(bench, case, args.runs, args.warmup, args.depth, args.all_plans)
            print(f"  [{number}/{len(chosen)}] {case.label}, page {case.depth + 1:,}: page p95 "
                  f"{percentile(case.samples['page'], 95):.2f} ms ({time.perf_counter() - started:.0f} s)", flush=True)
        print()
        print_report(chosen)
        print_plans(chosen)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    scratch = Scratch(args.admin_url, args.database, args.instance)
    if not scratch.exists() or seeded_rows(scratch) == 0:
        print(f"no seeded {scratch.name} database: run benchmarks/seed_requests.py first", file=sys.stderr)
        return 2
    bench = Bench(scratch)
    status = 0
    try:
        run(bench, args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        status = 130
    finally:
        bench.close()
        if not args.keep:
            scratch.drop()
            print(f"\ndropped {scratch.name} and {scratch.name}_keys (--keep keeps them)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput of the public FAQ page against bare Flask serving the same bytes.

    .venv/bin/python benchmarks/load.py            # or: make bench
    .venv/bin/python benchmarks/load.py --duration 20 --rounds 5

What it does:

1. Makes a temporary instance folder with a SQLite database and key store, migrates them, and
   starts our app (`trustcenter:create_app()`, production settings) under
   gunicorn on a free loopback port.
2. Fetches GET /faq once and keeps the exact bytes, Content-Type and ETag, and
   checks that If-None-Match with that ETag gets 304.
3. Starts `benchmarks/bare_app.py` (one Flask route returning those bytes from
   memory) under gunicorn with identical settings on another loopback port, and
   checks it serves the same bytes.
4. Runs wrk in interleaved rounds (ours, bare, ours with If-None-Match, then
   again), and reports the median requests/second of each scenario and its
   ratio to bare Flask. The ratio is the share of bare-Flask throughput we
   keep, i.e. the cost of everything our app adds per request.

wrk, both servers and this script share the machine, so anything else running
skews the figures. Before each measurement the script waits (up to
`--wait-for-idle` seconds) for other processes to go quiet, measures the CPU
they used during the measurement from /proc, and flags disturbed rounds with
`*` in the table.

It fails (exit status 2) when a server does not start, a response is not what
was expected, or wrk reports non-2xx/3xx responses or more than a negligible
number of socket errors. It exits 0 whatever the ratio: timings are reported,
never asserted. Both gunicorn servers are killed (whole process groups) on
every exit path.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TARGET_RATIO = 0.9
OUR_APP = "trustcenter:create_app()"
BARE_APP = "benchmarks.bare_app:app"  # imported from ROOT, the same --chdir as ours
READY_TIMEOUT = 60.0
# Socket errors (connect/read/write/timeout) tolerated per request sent; above this the run fails.
MAX_SOCKET_ERROR_RATE = 0.001
# CPU (in cores) that processes other than wrk and the two servers may use during a
# measurement before it is flagged as disturbed; on 2 cores 0.15 is 7.5% of the machine.
MAX_FOREIGN_CORES = 0.15
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchmarkError(RuntimeError):
    """The measurement cannot be trusted; the message says why."""


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def gunicorn_settings(args: argparse.Namespace) -> list[str]:
    """The gunicorn options both servers share; only the bind address and app differ."""
    return [
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--threads", str(args.gunicorn_threads),
        "--keep-alive", str(args.keep_alive),
        "--log-level", "warning",
        "--chdir", str(ROOT),
    ]


class Server:
    """One gunicorn master in its own session, so its whole process group can be killed."""

    def __init__(self, name: str, app: str, port: int, settings: Sequence[str],
                 env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = port
        self.base_url = f"http://{HOST}:{port}"
        self.argv = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", *settings, app]
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # start_new_session: the master leads its own group

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll the port until it accepts connections, then until a worker answers."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BenchmarkError(f"{self.name}: gunicorn exited with status {self.proc.returncode}\n"
                                     + self.log_tail())
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchmarkError(f"{self.name}: port {self.port} not open after {timeout:.0f}s\n"
                                         + self.log_tail()) from None
                time.sleep(0.1)
        # The master binds before its workers have imported the app; wait for a real answer.
        while True:
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
                connection.request("GET", "/faq")
                connection.getresponse().read()
                connection.close()
                return
            except (OSError, http.client.HTTPException):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchmarkError(f"{self.name}: no HTTP answer on port {self.port}\n"
                                         + self.log_tail()) from None
                time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no gunicorn log)"
        return "--- gunicorn log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left of it."""
        if self.proc is None:
            return
        pgid = self.pgid
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:  # the whole group is gone already
                self.proc.poll()
                break
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
            # The master is gone; make sure no worker of its group survived it.
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        self.proc = None


# --------------------------------------------------------------------------- other load


def machine_busy_seconds() -> float:
    """CPU seconds spent busy on all cores since boot (steal counts: it is someone else's)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def group_cpu_seconds(pgids: Sequence[int]) -> float:
    """CPU seconds used so far by live processes in these process groups (all threads)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()  # fields from the 3rd (state) on
        if int(rest[2]) in pgids:  # pgrp
            total += int(rest[11]) + int(rest[12])  # utime, stime
    return total / CLOCK_TICKS


def own_cpu_seconds() -> float:
    """This process plus its reaped children (wrk)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class ForeignLoad:
    """CPU used during a measurement by processes other than wrk, the servers and us."""

    def __init__(self, pgids: Sequence[int]) -> None:
        self.pgids = list(pgids)

    def __enter__(self) -> Self:
        self.cores: float | None = None
        self._start = (time.monotonic(), machine_busy_seconds(),
                       group_cpu_seconds(self.pgids), own_cpu_seconds())
        return self

    def __exit__(self, *exc: object) -> None:
        wall, busy, group, own = self._start
        elapsed = time.monotonic() - wall
        ours = (group_cpu_seconds(self.pgids) - group) + (own_cpu_seconds() - own)
        self.cores = max(0.0, (machine_busy_seconds() - busy - ours) / elapsed) if elapsed > 0 else 0.0


def busy_cores(sample: float = 1.0) -> float:
    """Cores in use on the whole machine over `sample` seconds (our servers are idle then)."""
    start = machine_busy_seconds()
    time.sleep(sample)
    return (machine_busy_seconds() - start) / sample


def wait_for_idle(timeout: float) -> float:
    """Wait up to `timeout` seconds for the machine to be quiet; return the last busy reading."""
    deadline = time.monotonic() + timeout
    busy = busy_cores()
    announced = False
    while busy > MAX_FOREIGN_CORES and time.monotonic() < deadline:
        if not announced:
            print(f"    machine busy ({busy:.2f} cores in use by other processes); waiting up to "
                  f"{timeout:.0f}s for it to settle", flush=True)
            announced = True
        busy = busy_cores()
    if busy > MAX_FOREIGN_CORES:
        print(f"    still busy ({busy:.2f} cores); measuring anyway, the result will be flagged", flush=True)
    return busy


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    requests_per_second: float
    requests: int
    seconds: float
    bytes_read: float
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    foreign_cores: float | None = None  # CPU used meanwhile by unrelated processes

    @property
    def disturbed(self) -> bool:
        return self.foreign_cores is not None and self.foreign_cores > MAX_FOREIGN_CORES

    @property
    def bytes_per_request(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0


_BINARY_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?)B read", output, re.MULTILINE)
    if not rps or not total:
        raise BenchmarkError("could not parse wrk output:\n" + output)
    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", output, re.MULTILINE)
    errors = re.search(
        r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output, re.MULTILINE)

    def latency(percent: str) -> float | None:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
        return float(found.group(1)) * _TIME_UNITS[found.group(2)] if found else None

    return WrkResult(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _TIME_UNITS[total.group(3)] / 1000.0,
        bytes_read=float(total.group(4)) * _BINARY_UNITS[total.group(5)],
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"),
                               map(int, errors.groups()))) if errors else
        {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        latency_p50_ms=latency("50"),
        latency_p99_ms=latency("99"),
    )


def run_wrk(url: str, duration: int, args: argparse.Namespace, headers: Sequence[str] = (),
            pgids: Sequence[int] = ()) -> WrkResult:
    argv = ["wrk", "--threads", str(args.threads), "--connections", str(args.connections),
            "--duration", f"{duration}s", "--timeout", "10s", "--latency"]
    for header in headers:
        argv += ["--header", header]
    argv.append(url)
    if args.wait_for_idle:
        wait_for_idle(args.wait_for_idle)
    try:
        with ForeignLoad(pgids) as foreign:
            done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=duration + 60,
                                  stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"wrk did not finish within {duration + 60}s: {' '.join(argv)}") from None
    if done.returncode != 0:
        raise BenchmarkError(f"wrk failed with status {done.returncode}:\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    result.foreign_cores = foreign.cores
    check_wrk(result, done.stdout)
    return result


def check_wrk(result: WrkResult, output: str) -> None:
    """Fail loudly when wrk saw failures: then the figure measures errors, not the page."""
    if result.requests == 0:
        raise BenchmarkError("wrk completed no requests:\n" + output)
    if result.non_2xx_3xx:
        raise BenchmarkError(f"wrk saw {result.non_2xx_3xx} non-2xx/3xx responses:\n" + output)
    errors = sum(result.socket_errors.values())
    if errors > MAX_SOCKET_ERROR_RATE * result.requests:
        raise BenchmarkError(
            f"wrk saw {errors} socket errors in {result.requests} requests "
            f"(more than {MAX_SOCKET_ERROR_RATE:.1%}):\n" + output)


# --------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    key: str
    label: str
    url: str
    headers: tuple[str, ...] = ()
    expect_status: int = 200
    results: list[WrkResult] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [r.requests_per_second for r in self.results]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def check_bytes_per_request(scenario: Scenario, result: WrkResult, body_length: int) -> None:
    """wrk only counts statuses as 2xx/3xx; the bytes read tell a 200 from a 304."""
    per_request = result.bytes_per_request
    if scenario.expect_status == 200 and per_request < body_length:
        raise BenchmarkError(f"{scenario.label}: {per_request:.0f} bytes per response, "
                             f"less than the {body_length}-byte page: not all were full pages")
    if scenario.expect_status == 304 and per_request > body_length / 4:
        raise BenchmarkError(f"{scenario.label}: {per_request:.0f} bytes per response; "
                             "a 304 carries no body, so the ETag did not match")


# --------------------------------------------------------------------------- set-up


def no_proxy_opener() -> urllib.request.OpenerDirector:
    """urllib honours http_proxy; loopback requests must not go through one."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with no_proxy_opener().open(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:  # urllib raises for 304 as for any non-2xx
        return error.code, dict(error.headers.items()), error.read()


def migrate_database(database_url: str, keystore_url: str) -> None:
    """What `trustcenter db upgrade` does: the key store, then the main database (the benchmark's own)."""
    from trustcenter import migrate
    from trustcenter.db import make_engine

    engine, keystore = make_engine(database_url), make_engine(keystore_url)
    try:
        migrate.upgrade_keystore(keystore)
        migrate.upgrade(engine)
    finally:
        engine.dispose()
        keystore.dispose()


def production_secrets() -> dict[str, str]:
    """Fresh throwaway root keys and a mail transport, which production refuses to start without."""
    env = {"TRUSTCENTER_MAIL_TRANSPORT": "file"}  # the FAQ sends no mail; nothing leaves the machine
    try:
        from trustcenter.crypto import keys
    except ImportError:  # a version of the app without envelope encryption
        return env
    env[keys.MASTER_ENV] = keys.new_master_key_entry(prefix="bench")
    env[keys.INDEX_ENV] = keys.encode_key(secrets.token_bytes(32))
    env[keys.AUDIT_ENV] = keys.encode_key(secrets.token_bytes(32))
    return env


def clean_environment() -> dict[str, str]:
    """The caller's environment without any TRUSTCENTER_* or BENCH_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TRUSTCENTER_", "BENCH_"))}


def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def wrk_version() -> str:
    done = subprocess.run(["wrk", "--version"], check=False, capture_output=True, text=True, timeout=10)
    lines = (done.stdout + done.stderr).strip().splitlines()
    first = lines[0] if lines else "unknown"
    return re.sub(r"\s+Copyright.*$", "", first)


def git_revision() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], check=False, cwd=ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(args: argparse.Namespace) -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": cpu_model(),
        "kernel": f"{platform.system()} {platform.release()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "busy_cores_at_start": round(busy_cores(), 3),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "revision": git_revision(),
        "gunicorn": version_of("gunicorn"),
        "flask": version_of("flask"),
        "werkzeug": version_of("werkzeug"),
        "wrk": wrk_version(),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "gunicorn_workers": args.workers,
            "gunicorn_worker_class": args.worker_class,
            "gunicorn_threads": args.gunicorn_threads,
            "gunicorn_keep_alive_s": args.keep_alive,
            "wait_for_idle_s": args.wait_for_idle,
            "app": args.app,
            "app_env": sorted(name for name, _ in args.app_env),
        },
    }


def print_environment(env: dict[str, Any]) -> None:
    s = env["settings"]
    print("Environment")
    print(f"  CPUs          {env['cpus']} ({env['cpus_usable']} usable), {env['cpu_model']}")
    print(f"  OS            {env['kernel']}, load average at start {env['load_average_at_start']}")
    print(f"  other load    {env['busy_cores_at_start']:.2f} cores busy before start "
          f"(measurements are flagged above {MAX_FOREIGN_CORES})")
    print(f"  Python        {env['python']}")
    print(f"  app revision  {env['revision']}")
    print(f"  gunicorn      {env['gunicorn']}  (Flask {env['flask']}, Werkzeug {env['werkzeug']})")
    print(f"  wrk           {env['wrk']}")
    print("Settings")
    print(f"  wrk           {s['wrk_threads']} threads, {s['wrk_connections']} connections, "
          f"{s['duration_s']}s per measurement, {s['warmup_s']}s warm-up, {s['rounds']} interleaved rounds, "
          "keep-alive, 10s request timeout")
    print(f"  our app       {s['app']}" + (f" with {', '.join(s['app_env'])}" if s["app_env"] else ""))
    print(f"  gunicorn      {s['gunicorn_workers']} workers, worker class {s['gunicorn_worker_class']}, "
          f"{s['gunicorn_threads']} threads, keep-alive {s['gunicorn_keep_alive_s']}s "
          "(identical for both servers)")
    print()


# --------------------------------------------------------------------------- report


def print_report(scenarios: Sequence[Scenario], bare: Scenario) -> list[dict[str, Any]]:
    rows = []
    print()
    width = max(len("rounds (req/s)"), 10 * len(bare.results))
    print(f"{'scenario':<44} {'median req/s':>12}   {'rounds (req/s)':<{width}} {'ours/bare':>9}")
    print("-" * (44 + 12 + 3 + width + 11))
    for scenario in scenarios:
        ratio = None if scenario is bare else scenario.median / bare.median
        rounds = " ".join(f"{r.requests_per_second:8.1f}{'*' if r.disturbed else ' '}"
                          for r in scenario.results)
        ratio_text = "" if ratio is None else f"{ratio:9.3f}"
        print(f"{scenario.label:<44} {scenario.median:12.1f}   {rounds:<{width}} {ratio_text}")
        rows.append({
            "scenario": scenario.key,
            "label": scenario.label,
            "median_rps": round(scenario.median, 1),
            "rounds_rps": scenario.rates,
            "ratio_to_bare": None if ratio is None else round(ratio, 3),
            "paired_ratios": None if ratio is None else [
                round(a / b, 3) for a, b in zip(scenario.rates, bare.rates)],
            "latency_p50_ms": [r.latency_p50_ms for r in scenario.results],
            "latency_p99_ms": [r.latency_p99_ms for r in scenario.results],
            "bytes_per_response": round(statistics.median(r.bytes_per_request for r in scenario.results)),
            "foreign_cores": [None if r.foreign_cores is None else round(r.foreign_cores, 3)
                              for r in scenario.results],
        })
    disturbed = sum(r.disturbed for s in scenarios for r in s.results)
    if disturbed:
        print(f"* {disturbed} measurement(s) ran while other processes used more than "
              f"{MAX_FOREIGN_CORES} cores: those figures are low and the ratios noisy; "
              "rerun on a quiet machine.")
    print()
    for row in rows:
        if row["ratio_to_bare"] is None:
            continue
        verdict = "MEETS" if row["ratio_to_bare"] >= TARGET_RATIO else "BELOW"
        paired = ", ".join(f"{r:.3f}" for r in row["paired_ratios"])
        print(f"{row['label']}: ratio {row['ratio_to_bare']:.3f} {verdict} the target {TARGET_RATIO} "
              f"(per-round ratios {paired})")
    return rows


# --------------------------------------------------------------------------- main


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests/second of GET /faq against bare Flask serving the same bytes.")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of discarded load per scenario before the rounds (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, both servers (default 2)")
    parser.add_argument("--worker-class", default="gthread",
                        help="gunicorn worker class, both servers (default gthread)")
    parser.add_argument("--gunicorn-threads", type=int, default=4,
                        help="gunicorn threads per worker, both servers (default 4)")
    parser.add_argument("--keep-alive", type=int, default=2,
                        help="gunicorn keep-alive seconds, both servers (default 2, gunicorn's own)")
    parser.add_argument("--wait-for-idle", type=float, default=60,
                        help="before each measurement, wait up to this many seconds for other processes "
                             f"to use less than {MAX_FOREIGN_CORES} cores; 0 skips the wait (default 60)")
    parser.add_argument("--app", default=OUR_APP,
                        help=f"gunicorn app spec for our app (default {OUR_APP}); for trying a variant")
    parser.add_argument("--app-env", action="append", default=[], type=_env_pair, metavar="NAME=VALUE",
                        help="extra environment for our app, e.g. TRUSTCENTER_REDIS_URL=redis://127.0.0.1:6379/15 "
                             "(repeatable)")
    parser.add_argument("--json", type=Path, help="also write the environment and results to this file")
    args = parser.parse_args(argv)
    for name in ("duration", "connections", "threads", "rounds", "workers", "gunicorn_threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0 or args.keep_alive < 0 or args.wait_for_idle < 0:
        parser.error("--warmup, --keep-alive and --wait-for-idle cannot be negative")
    if args.connections < args.threads:
        parser.error("wrk needs at least one connection per thread")
    return args


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    env_info = environment(args)
    print_environment(env_info)
    settings = gunicorn_settings(args)

    database_url, keystore_url = f"sqlite:///{tmp / 'bench.db'}", f"sqlite:///{tmp / 'keys.db'}"
    migrate_database(database_url, keystore_url)
    ours_env = clean_environment() | {
        "TRUSTCENTER_ENV": "production", "TRUSTCENTER_SITE_URL": "https://trust.example.com",
        "TRUSTCENTER_SECRET_KEY": secrets.token_urlsafe(48),
        "TRUSTCENTER_DATABASE_URL": database_url, "TRUSTCENTER_KEYSTORE_URL": keystore_url,
        "TRUSTCENTER_INSTANCE_PATH": str(tmp / "instance"),
    } | production_secrets() | dict(args.app_env)
    (tmp / "instance").mkdir()

    servers: list[Server] = []
    try:
        ours = Server("ours", args.app, free_port(), settings, ours_env, tmp / "ours.log")
        servers.append(ours)
        ours.start()
        ours.wait_ready()

        status, headers, body = fetch(ours.base_url + "/faq")
        if status != 200 or not body:
            raise BenchmarkError(f"ours: GET /faq answered {status} with {len(body)} bytes")
        content_type = headers.get("Content-Type", "")
        etag = headers.get("ETag")
        if not etag:
            raise BenchmarkError("ours: GET /faq sent no ETag, so the 304 scenario cannot run")
        status_304, _, body_304 = fetch(ours.base_url + "/faq", {"If-None-Match": etag})
        if status_304 != 304 or body_304:
            raise BenchmarkError(f"ours: If-None-Match {etag} answered {status_304}, not an empty 304")
        print(f"GET /faq from our app: {len(body)} bytes, {content_type}, ETag {etag}")

        body_file = tmp / "faq.html"
        body_file.write_bytes(body)
        bare_env = clean_environment() | {
            "BENCH_FAQ_BODY_FILE": str(body_file),
            "BENCH_FAQ_CONTENT_TYPE": content_type,
        }
        bare_port = free_port()
        while bare_port == ours.port:
            bare_port = free_port()
        bare = Server("bare", BARE_APP, bare_port, settings, bare_env, tmp / "bare.log")
        servers.append(bare)
        bare.start()
        bare.wait_ready()
        status, bare_headers, bare_body = fetch(bare.base_url + "/faq")
        if status != 200 or bare_body != body or bare_headers.get("Content-Type") != content_type:
            raise BenchmarkError("bare: GET /faq does not return the same bytes and Content-Type as ours")
        print(f"GET /faq from bare Flask: identical bytes and Content-Type ({bare.base_url} vs {ours.base_url})")

        ours_200 = Scenario("ours_faq", "ours  GET /faq (200 from page cache)", ours.base_url + "/faq")
        bare_200 = Scenario("bare_faq", "bare  GET /faq (200, bytes from memory)", bare.base_url + "/faq")
        ours_304 = Scenario("ours_faq_304", "ours  GET /faq If-None-Match (304)", ours.base_url + "/faq",
                            headers=(f"If-None-Match: {etag}",), expect_status=304)
        order = [ours_200, bare_200, ours_304]  # interleaved: every round runs each once, in this order

        pgids = [ours.pgid, bare.pgid]
        if args.warmup:
            print(f"Warming up ({args.warmup}s per scenario)...", flush=True)
            for scenario in order:
                result = run_wrk(scenario.url, args.warmup, args, scenario.headers, pgids)
                check_bytes_per_request(scenario, result, len(body))

        for number in range(1, args.rounds + 1):
            for scenario in order:
                result = run_wrk(scenario.url, args.duration, args, scenario.headers, pgids)
                check_bytes_per_request(scenario, result, len(body))
                scenario.results.append(result)
                print(f"  round {number}/{args.rounds}  {scenario.label:<44} "
                      f"{result.requests_per_second:9.1f} req/s  "
                      f"p50 {result.latency_p50_ms or 0:6.2f} ms  p99 {result.latency_p99_ms or 0:6.2f} ms  "
                      f"other load {result.foreign_cores or 0:.2f} cores"
                      + ("  DISTURBED" if result.disturbed else ""), flush=True)

        rows = print_report([ours_200, ours_304, bare_200], bare_200)
        return {
            "environment": env_info,
            "page": {"bytes": len(body), "content_type": content_type, "etag": etag},
            "target_ratio": TARGET_RATIO,
            "results": rows,
            "raw": {s.key: [asdict(r) for r in s.results] for s in order},
        }
    finally:
        for server in reversed(servers):
            server.stop()


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (Debian/Ubuntu: apt-get install wrk)", file=sys.stderr)
        return 2
    # A SIGTERM must still run the `finally` that kills both servers.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with tempfile.TemporaryDirectory(prefix="trustcenter-bench-") as tmp:
            report = run(args, Path(tmp))
    except BenchmarkError as error:
        print(f"\nBENCHMARK FAILED: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nResults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How each database is copied: SQLite's online backup API, and PostgreSQL's pg_dump and pg_restore.

The PostgreSQL password travels in PGPASSWORD, never on a command line, where `ps` would show it.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL

SQLITE_PAGES_PER_STEP = 1024
# pg_restore --list names a table as "<id>; <oid> <oid> TABLE <schema> <name> <owner>".
ARCHIVE_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ", re.MULTILINE)
Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupError(Exception):
    """A backup cannot be made, found or restored; the message says what to do next."""


def read_only(path: Path) -> str:
    """A URI opening `path` read-only: reading a backup never changes it, nor creates a missing file."""
    return path.resolve().as_uri() + "?mode=ro"


def sqlite_copy(source: Path, target: Path, progress: Progress | None) -> None:
    """Copy `source` over `target` page by page with SQLite's online backup API (consistent under writes)."""
    def report(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    try:
        with closing(sqlite3.connect(read_only(source), uri=True)) as origin, \
                closing(sqlite3.connect(target)) as copy:
            origin.backup(copy, pages=SQLITE_PAGES_PER_STEP, progress=report)
    except sqlite3.Error as error:
        raise BackupError(f"Copying the SQLite database failed: {error}.") from None


def client(name: str) -> str:
    """The path of a PostgreSQL client tool, or an error saying how to install it."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (or not on PATH). Install the PostgreSQL client tools of the "
                          "server's major version (Debian and Ubuntu: apt-get install postgresql-client) and run "
                          "the command again.")
    return found


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A connection URI without the password, and an environment carrying it (PGPASSWORD)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                      query=url.query)
    return bare.render_as_string(hide_password=False), env


def run(command: list[str], env: dict[str, str], what: str) -> str:
    """Run a PostgreSQL client tool; its last words on failure become the error."""
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        said = " ".join(result.stderr.strip().splitlines()[-3:]) or f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {said}")
    return result.stdout


def sqlite_tables(path: Path) -> set[str]:
    """The tables of a SQLite file, opened read-only."""
    try:
        with closing(sqlite3.connect(read_only(path), uri=True)) as connection:
            return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as error:
        raise BackupError(f"{path.name} is not a readable SQLite database: {error}.") from None


def archive_tables(path: Path) -> set[str]:
    """The tables a pg_dump archive creates, from its table of contents."""
    listing = run([client("pg_restore"), "--list", str(path.resolve())], dict(os.environ), "pg_restore --list")
    return {name for _schema, name in ARCHIVE_TABLE.findall(listing)}

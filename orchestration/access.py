"""`wardflow audit access`: who ran what against which relation, from the PostgreSQL server log.

`wardflow init` makes the server log every statement of the analyst, reader and compliance roles
(orchestration/warehouse/quiet_logs.py; text only, never parameters or error text). This module reads that log
(the embedded cluster's ``home/pg/server.log`` in the stderr format of its ``log_line_prefix`` '%m [%p] %q%u@%d ',
or any file in PostgreSQL 15's ``jsonlog`` format), reduces each statement to its shape (every literal replaced
by ``?`` with sqlglot, so a value an analyst typed does not leave the log) and the relations it names, and loads
those into ``audit.access_log``. A statement sqlglot cannot parse keeps only its command word. Query results are
never seen here. On a server whose log this process cannot read (a managed database), it says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlglot
from sqlglot import exp

from connectors.settings import ROLE_NAMES
from orchestration.warehouse.quiet_logs import ACCESS_LOGGED_ROLES

PREFIX = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+) \[(\d+)\] (\S*)@(\S*) (\w+):  (.*)$")
STATEMENT = re.compile(r"^(?:statement|execute [^:]*): (.*)$", re.S)
LOGGED_ROLES = {ROLE_NAMES[r] for r in ACCESS_LOGGED_ROLES}


@dataclass(frozen=True)
class Access:
    """One logged statement, reduced to what an auditor may read."""

    logged_at: datetime
    pid: int
    role: str
    database: str
    command: str
    relations: tuple[str, ...]
    shape: str

    @property
    def shape_sha256(self) -> str:
        return hashlib.sha256(self.shape.encode()).hexdigest()

    def as_dict(self) -> dict:
        return {"logged_at": self.logged_at.isoformat(), "pid": self.pid, "role": self.role,
                "database": self.database, "command": self.command, "relations": list(self.relations),
                "statement_shape": self.shape}


def shape_of(statement: str) -> tuple[str, tuple[str, ...], str]:
    """(command, relations named, statement with every literal as ?). Unparseable: the command word only."""
    words = statement.strip().split(None, 1)
    command = words[0].upper() if words else ""
    try:
        trees = [t for t in sqlglot.parse(statement, read="postgres") if t is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError):
        return command, (), command
    relations: set[str] = set()
    shapes = []
    for tree in trees:
        tree = tree.transform(lambda node: exp.Placeholder() if isinstance(node, exp.Literal) else node)
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        relations |= {".".join(p for p in (t.db, t.name) if p) for t in tree.find_all(exp.Table)
                      if t.name and not (not t.db and t.name in ctes)}
        shapes.append(tree.sql(dialect="postgres"))
    return command, tuple(sorted(relations)), "; ".join(shapes)


def _stderr_entries(lines: Iterable[str]) -> Iterator[tuple[str, str, str, str, str, str]]:
    """(time, pid, user, database, severity, message) per entry; continuation lines (tab-led) joined."""
    current: list | None = None
    for line in lines:
        match = PREFIX.match(line.rstrip("\n"))
        if match:
            if current:
                yield tuple(current)  # type: ignore[misc]
            current = list(match.groups())
        elif current is not None and line.startswith("\t"):
            current[5] += "\n" + line[1:].rstrip("\n")
    if current:
        yield tuple(current)  # type: ignore[misc]


def _json_entry(line: str) -> tuple[str, str, str, str, str, str] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return (str(data.get("timestamp", "")), str(data.get("pid", 0)), str(data.get("user", "")),
            str(data.get("dbname", "")), str(data.get("error_severity", "")), str(data.get("message", "")))


def parse_log(lines: Iterable[str], roles: set[str] | None = None) -> Iterator[Access]:
    """Statements of the logged roles (or of `roles`) in a stderr or jsonlog server log."""
    lines = list(lines)
    wanted = roles or LOGGED_ROLES
    entries: Iterator[tuple[str, str, str, str, str, str]]
    if lines and lines[0].lstrip().startswith("{"):
        entries = (e for e in map(_json_entry, lines) if e is not None)
    else:
        entries = _stderr_entries(lines)
    for at, pid, user, database, severity, message in entries:
        statement = STATEMENT.match(message)
        if severity != "LOG" or user not in wanted or not statement:
            continue
        command, relations, shape = shape_of(statement.group(1))
        yield Access(_timestamp(at), int(pid), user, database, command, relations, shape)


def _timestamp(text: str) -> datetime:
    """'2026-12-02 15:15:46.123 UTC' (stderr %m, and jsonlog) as an aware time. The embedded cluster logs in UTC;
    a server logging in another named zone is read as UTC too (docs/compliance.md asks for log_timezone = UTC)."""
    stamp, _, zone = text.rpartition(" ")
    if stamp and zone.isalpha():
        return datetime.fromisoformat(stamp.replace(" ", "T")).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace(" ", "T"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class LogUnreadable(RuntimeError):
    """The server log cannot be read from here; the message says why and what to do."""


def server_log(settings, log_file: Path | None = None) -> Path:
    """The server log to read: --log-file, else WARDFLOW_SERVER_LOG, else the embedded cluster's server.log."""
    import os

    chosen = log_file or (Path(os.environ["WARDFLOW_SERVER_LOG"]) if os.environ.get("WARDFLOW_SERVER_LOG") else None)
    if chosen is None and settings.database_url:
        raise LogUnreadable("WARDFLOW_DATABASE_URL names an external server whose log wardflow cannot read: pass "
                            "--log-file (a copy of the server's stderr or jsonlog file), or use the provider's log "
                            "export; statements are logged there all the same")
    chosen = chosen or settings.home / "pg" / "server.log"
    if not chosen.is_file():
        raise LogUnreadable(f"no server log at {chosen}")
    try:
        with chosen.open("rb"):
            pass
    except OSError as exc:
        raise LogUnreadable(f"server log {chosen} is not readable by this user ({exc.strerror})") from None
    return chosen


INSERT = ("insert into audit.access_log (logged_at, backend_pid, role, database, command, relations, "
          "statement_shape, shape_sha256) values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing")


def load_access(conn, accesses: Iterable[Access]) -> int:
    """Insert what is not there yet (an entry is its time, backend and shape); returns how many were new."""
    new = 0
    with conn.transaction():
        for a in accesses:
            cursor = conn.execute(INSERT, (a.logged_at, a.pid, a.role, a.database, a.command, list(a.relations),
                                           a.shape, a.shape_sha256))
            new += cursor.rowcount
    return new


QUERY = ("select logged_at, backend_pid, role, database, command, relations, statement_shape from audit.access_log "
         "where (%(role)s::text is null or role = %(role)s) and (%(since)s::timestamptz is null or logged_at >= "
         "%(since)s) order by logged_at, access_id limit %(limit)s")


def access_report(settings, *, role: str | None = None, since: datetime | None = None,
                  log_file: Path | None = None, limit: int = 1000) -> dict:
    """Load the server log into audit.access_log, then list it (newest last). Never a result value."""
    from connectors import auditlog
    from orchestration.warehouse.database import connect

    path = server_log(settings, log_file)
    with path.open(encoding="utf-8", errors="replace") as handle:
        accesses = list(parse_log(handle))
    db_role = ROLE_NAMES.get(role, role) if role else None
    with connect(settings, "pipeline") as conn:
        new = load_access(conn, accesses)
        with conn.transaction():
            auditlog.record(conn, "access.loaded", "audit.access_log", {"statements": len(accesses), "new": new})
            rows = conn.execute(QUERY, {"role": db_role, "since": since, "limit": limit}).fetchall()
        auditlog.anchor(settings, conn)
    keys = ("logged_at", "pid", "role", "database", "command", "relations", "statement_shape")
    return {"log": str(path), "statements_read": len(accesses), "new": new,
            "accesses": [dict(zip(keys, row, strict=True)) for row in rows]}

"""Appending audit events, and anchoring the head of their chain outside the database.

`record` appends one event through ``audit.record`` (the only way in: no login role may write the table; the
function sets id, time and actor and chains the event with a keyed MAC, orchestration/warehouse/sql/03_audit.sql).
`anchor` copies the newest event's id and MAC to ``$WARDFLOW_HOME/audit/anchor.jsonl``, a file that is only ever
appended to (mode 0600), and to syslog when WARDFLOW_AUDIT_SYSLOG names a socket: `wardflow audit verify` then
notices events deleted from the end of the chain, which a chain alone cannot show. Call it after the commit that made the events durable. Details hold ids, counts and
rule names only; nothing here logs them.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
from datetime import UTC, datetime
from logging.handlers import SysLogHandler
from pathlib import Path

import psycopg

from connectors.settings import Settings, ensure_private_dir

OPERATOR_VARIABLE = "WARDFLOW_OPERATOR"  # set by `wardflow --operator NAME`; else the OS user
_OPERATOR_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")
RECORD = "select audit.record(%s::text, %s::text, %s::jsonb)"  # exact types: no overload can match better
HEAD = "select event_id, hash from audit.head()"


def record(conn: psycopg.Connection, action: str, subject: str = "", details: dict | None = None) -> int:
    """Append one event in the connection's current transaction; returns its id."""
    row = conn.execute(RECORD, (action, subject, json.dumps(details or {}, default=str))).fetchone()
    assert row is not None
    return int(row[0])


def operator_name() -> str:
    """The person on whose behalf this process acts: WARDFLOW_OPERATOR (``--operator``), else the OS user. Reduced
    to characters that pass unquoted through libpq options; at most 64 of them."""
    name = os.environ.get(OPERATOR_VARIABLE, "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # a container uid without a passwd entry
            name = f"uid{os.getuid()}"
    return _OPERATOR_UNSAFE.sub("_", name)[:64] or "unknown"


def operator_option() -> str:
    """libpq `options` fragment naming the operator; audit.record adds it to every event's details."""
    return f"-c wardflow.operator={operator_name()}"


def anchor_path(settings: Settings) -> Path:
    return settings.home / "audit" / "anchor.jsonl"


def anchor(settings: Settings, conn: psycopg.Connection) -> dict | None:
    """Append the committed head of the chain to the anchor file; None when the log is empty."""
    with conn.transaction():
        row = conn.execute(HEAD).fetchone()
    if row is None or row[0] is None:
        return None
    entry = {"event_id": int(row[0]), "hash": bytes(row[1]).hex(),
             "at": datetime.now(UTC).isoformat(timespec="seconds")}
    path = anchor_path(settings)
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if settings.audit_syslog:
        to_syslog(settings.audit_syslog, entry)
    return entry


def to_syslog(address: str, entry: dict) -> None:
    """One line per anchor to a syslog socket (a path, or host:port over UDP), so that a copy of the head leaves
    the host. A syslog that is down does not stop the caller (the anchor file has the head)."""
    host, _, port = address.rpartition(":")
    target: str | tuple[str, int] = (host, int(port)) if host and port.isdigit() else address
    handler = SysLogHandler(address=target, facility=SysLogHandler.LOG_AUTH)
    handler.handleError = lambda record: None  # type: ignore[method-assign]
    try:
        handler.emit(logging.makeLogRecord({
            "msg": "wardflow audit head event_id=%d hash=%s", "args": (entry["event_id"], entry["hash"]),
            "levelno": logging.WARNING, "levelname": "WARNING"}))
    finally:
        handler.close()


def read_anchors(settings: Settings) -> tuple[list[dict], list[int]]:
    """The anchored heads in file order, and the line numbers that are not a valid anchor."""
    path = anchor_path(settings)
    if not path.exists():
        return [], []
    entries, bad = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            data = json.loads(line)
            entries.append({"event_id": int(data["event_id"]), "hash": bytes.fromhex(data["hash"])})
        except (ValueError, KeyError, TypeError):
            bad.append(number)
    return entries, bad

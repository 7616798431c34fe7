"""`wardflow rejected list|show|replay`: what could not be landed, and landing it after a fix.

A rejected row keeps the offending bytes encrypted. Replay decrypts them in memory, runs them through
today's parsers (a parser fix) or takes corrected bytes from the operator (a content fix), and lands what
now parses. The row is then marked `replayed`; what still fails stays `open` with its new reason.
Listings carry ids, rules, field paths and sizes — never content.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from connectors.crypto import KeyRing, Sealer
from connectors.landing import Lander

LIST_SQL = """
select rejected_id, received_at, source_kind, format, rule, field_path, error_code, reason, payload_bytes, status
from landing.rejected
where (%(status)s::text is null or status = %(status)s) and (%(rule)s::text is null or rule = %(rule)s)
order by rejected_id
limit %(limit)s
"""
COLUMNS = ["rejected_id", "received_at", "source_kind", "format", "rule", "field_path", "error_code", "reason",
           "payload_bytes", "status"]


def list_rejected(conn: psycopg.Connection, *, status: str | None = "open", rule: str | None = None,
                  limit: int = 100) -> list[dict]:
    rows = conn.execute(LIST_SQL, {"status": status, "rule": rule, "limit": limit}).fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def rejected_payload(conn: psycopg.Connection, ring: KeyRing, rejected_id: int) -> bytes:
    """The offending bytes, decrypted (for an operator to fix; never logged)."""
    row = conn.execute("select payload, key_version from landing.rejected where rejected_id = %s",
                       (rejected_id,)).fetchone()
    if row is None:
        raise LookupError(f"no rejected message with id {rejected_id}")
    return Sealer(ring, version=row[1]).open(bytes(row[0]))


@dataclass
class ReplayResult:
    replayed: int = 0
    still_rejected: int = 0
    landed: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def replay(conn: psycopg.Connection, ring: KeyRing, *, ids: list[int] | None = None,
           fixed: bytes | None = None, validate: str = "lenient") -> ReplayResult:
    """Re-parse open rejects (all, or `ids`) through the path ingest uses (same splitting, validation, size limit
    and rejection rules); with `fixed`, those bytes replace the one given id's payload."""
    if fixed is not None and (not ids or len(ids) != 1):
        raise ValueError("a corrected payload replaces exactly one rejected message: give one id")
    rows = conn.execute(
        "select rejected_id, format, payload, key_version from landing.rejected where status = 'open'"
        " and (%s::bigint[] is null or rejected_id = any(%s::bigint[])) order by rejected_id",
        (ids, ids)).fetchall()
    result = ReplayResult()
    for rejected_id, fmt, payload, version in rows:
        data = fixed if fixed is not None else Sealer(ring, version=version).open(bytes(payload))
        lander = Lander(conn, ring, source_kind="replay")
        failures = _land(lander, data, fmt, validate)
        counts, _ = lander.flush()
        result.landed += counts.landed
        result.duplicates += counts.duplicates
        if failures == 0 and counts.landed + counts.duplicates > 0:
            conn.execute("update landing.rejected set status = 'replayed', resolved_at = now() where rejected_id = %s",
                         (rejected_id,))
            result.replayed += 1
        else:
            result.still_rejected += 1
        conn.commit()
    if rows:
        conn.execute("select audit.record('rejected.replay', 'landing.rejected', %s::jsonb)",
                     (psycopg.types.json.Jsonb(result.as_dict()),))
        conn.commit()
    return result


def _land(lander: Lander, data: bytes, fmt: str, validate: str) -> int:
    """Parse `data` again through ingest's own path; returns how many pieces still fail (those are rejected anew,
    with today's field, rule and reason, exactly as a file holding these bytes would be)."""
    import io

    from connectors.ingest import FileOutcome, land_stream, sniff

    kind = fmt if fmt in ("hl7v2", "fhir") else sniff(data[:4096])
    outcome = FileOutcome(Path(f"rejected/{fmt}"), kind)
    land_stream(io.BytesIO(data), kind, lander, outcome, validate=validate)
    if kind in ("hl7v2", "fhir") and outcome.items == 0:
        return 1  # nothing in it parses as a message: it stays open rather than counting as fixed
    return outcome.rejected

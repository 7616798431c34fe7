"""Quarantine: a landed row that staging cannot read is moved aside so that it stops blocking every build.

After a failed `dbt build`, the rows landed since the last build every incremental model finished
(vault.build_watermarks) are probed one by one (`landing.unreadable_rows`: decrypt, decode, parse, in a
subtransaction each). Each row that fails moves, still encrypted, into landing.rejected (status open, rule
``staging.unreadable``, the SQLSTATE in its reason) and out of landing, in one transaction; the build is then run
once more. `wardflow rejected list` shows such rows, `rejected replay` parses them again (a fixed payload may be
given) and `rejected discard` closes them. Counts only are logged and audited; never a value.
"""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from orchestration.warehouse.database import scalar

RULE = "staging.unreadable"

_SINCE = """
select source, coalesce(min(high_water), 0) from vault.build_watermarks where source in ('hl7', 'fhir') group by source
"""

_MOVE = {
    "hl7": ("landing.hl7_messages", "message_id", "hl7v2"),
    "fhir": ("landing.fhir_resources", "resource_row_id", "fhir"),
}


def watermarks(conn: psycopg.Connection) -> dict[str, int]:
    """The lowest id every incremental model has read up to, per source (0 before the first build)."""
    if scalar(conn.execute("select to_regclass('vault.build_watermarks')")) is None:
        return {"hl7": 0, "fhir": 0}
    return {"hl7": 0, "fhir": 0} | dict(conn.execute(_SINCE).fetchall())


def quarantine_unreadable(conn: psycopg.Connection) -> dict[str, int]:
    """Move every unreadable landed row above the watermarks into landing.rejected; counts per source.
    ``conn`` must carry the keys (staging's reading is what is probed)."""
    since = watermarks(conn)
    found = conn.execute("select source, row_id, error_state from landing.unreadable_rows(%s, %s)",
                         (since["hl7"], since["fhir"])).fetchall()
    counts = {"hl7": 0, "fhir": 0}
    for source, row_id, sqlstate in found:
        reason = (f"landed {'message' if source == 'hl7' else 'resource'} {row_id} could not be read by staging "
                  f"(SQLSTATE {sqlstate}) and was quarantined (rule {RULE})")
        move_to_rejected(conn, source, row_id, RULE, sqlstate, reason)
        counts[source] += 1
    if found:
        conn.execute("select audit.record('pipeline.quarantine', 'landing', %s::jsonb)",
                     (Jsonb(counts),))
    conn.commit()
    return counts


def move_to_rejected(conn: psycopg.Connection, source: str, row_id: int, rule: str, sqlstate: str,
                     reason: str) -> None:
    """Move one landed row, still encrypted, into landing.rejected (open) and out of landing (caller commits)."""
    table, key, fmt = _MOVE[source]
    conn.execute(f"""
        insert into landing.rejected (batch_id, source_kind, format, rule, field_path, error_code, reason,
                                      payload_bytes, content_hmac, key_version, payload)
        select batch_id, source_kind, %s, %s, 'document', %s, %s, payload_bytes, content_hmac, key_version, payload
        from {table} where {key} = %s
        on conflict on constraint rejected_dedup do nothing""",  # noqa: S608 - table and key are ours
                 (fmt, rule, sqlstate, reason, row_id))
    conn.execute(f"delete from {table} where {key} = %s", (row_id,))  # noqa: S608 - table and key from the fixed source map; the id is a parameter


def discard(conn: psycopg.Connection, ids: list[int]) -> int:
    """Close open rejected rows without landing them (they stay, encrypted, until retention removes them)."""
    done = conn.execute("update landing.rejected set status = 'discarded', resolved_at = now() "
                        "where status = 'open' and rejected_id = any(%s)", (ids,)).rowcount
    if done:
        conn.execute("select audit.record('rejected.discard', 'landing.rejected', %s::jsonb)",
                     (Jsonb({"discarded": done}),))
    conn.commit()
    return done

"""Quarantine by model: a landed row that staging reads but that still makes a model fail is found and moved aside.

Staging's casts are total, so a model should never fail on data; this is the net under that promise. After a
failed `dbt build` in which no landed row was unreadable, each model that failed with a data error (SQLSTATE
class 22 data exception, 23 integrity, 54 program limit) is probed again in a keyed session: its compiled SELECT,
every column forced, with staging's reads cut at an upper landing id (``wardflow.hl7_until`` /
``wardflow.fhir_until``, macros/incremental.sql). Bisecting that bound finds the first landed row that makes
the model fail; the row moves, still encrypted, into landing.rejected (rule ``model.failed``, reason naming the
model and the SQLSTATE, never a value) and the probe runs again, up to a limit. The build is then run once more.
Only ids, model names, SQLSTATEs and counts are logged or audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from orchestration.quarantine import move_to_rejected, watermarks
from orchestration.warehouse.database import scalar

MODEL_RULE = "model.failed"
DATA_ERROR_CLASSES = ("22", "23", "54")
SOURCES = ("hl7", "fhir")
_MAX_ID = {"hl7": "select coalesce(max(message_id), 0) from landing.hl7_messages",
           "fhir": "select coalesce(max(resource_row_id), 0) from landing.fhir_resources"}


@dataclass(frozen=True)
class FailedModel:
    """A model dbt could not build, with the SELECT it compiled (ephemeral staging injected as CTEs)."""

    name: str
    sql: str


def failed_models(target_path: Path) -> list[FailedModel]:
    """The models of a dbt invocation that ended in error, from its run_results.json (empty if there is none)."""
    path = Path(target_path) / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text()).get("results", [])
    return [FailedModel(r["unique_id"].rsplit(".", 1)[-1], r["compiled_code"]) for r in results
            if r.get("status") == "error" and r.get("unique_id", "").startswith("model.") and r.get("compiled_code")]


def probe(conn: psycopg.Connection, query: str, until: dict[str, int]) -> str | None:
    """Run `query` over landed rows up to `until` (per source): None if it succeeds, the SQLSTATE of a data error
    if it fails on data; any other error is raised (it is no row's fault)."""
    try:
        with conn.transaction():
            for source in SOURCES:
                conn.execute("select pg_catalog.set_config(%s, %s, true)", (f"wardflow.{source}_until", str(until[source])))
            # every column of every row is formed (a cast the planner could skip for count(*) is evaluated)
            conn.execute(f"select pg_catalog.sum(pg_catalog.length(q::text)) from ({query}) as q")  # noqa: S608 - compiled dbt SQL
    except psycopg.Error as exc:
        if (exc.sqlstate or "")[:2] in DATA_ERROR_CLASSES:
            return exc.sqlstate
        raise
    return None


def first_failing_row(conn: psycopg.Connection, query: str, low: dict[str, int],
                      high: dict[str, int]) -> tuple[str, int] | None:
    """The (source, id) of the first landed row above `low` that makes `query` fail, all rows of the other source
    held at `low` (HL7 first, then FHIR with every HL7 row); None when the failure needs no new row."""
    if probe(conn, query, low):
        return None  # fails on rows already built from: not a new row's fault
    for source in SOURCES:
        fixed = dict(low) if source == "hl7" else dict(high)
        passing, failing = low[source], high[source]
        if not probe(conn, query, {**fixed, source: failing}):
            continue
        while failing - passing > 1:  # the smallest failing bound is an id that exists: its row is the one
            middle = (passing + failing) // 2
            if probe(conn, query, {**fixed, source: middle}):
                failing = middle
            else:
                passing = middle
        return source, failing
    return None


def quarantine_failing_rows(conn: psycopg.Connection, models: list[FailedModel], *, limit: int = 20) -> dict[str, int]:
    """Move the landed rows that make `models` fail into landing.rejected, at most `limit`; counts per source.
    ``conn`` must carry the keys and not be in autocommit mode."""
    counts = {source: 0 for source in SOURCES}
    low = watermarks(conn)
    for model in models:
        while sum(counts.values()) < limit:
            high = {source: scalar(conn.execute(_MAX_ID[source])) for source in SOURCES}
            sqlstate = probe(conn, model.sql, high)
            if sqlstate is None:
                break
            found = first_failing_row(conn, model.sql, low, high)
            if found is None:
                break
            source, row_id = found
            reason = (f"landed {'message' if source == 'hl7' else 'resource'} {row_id} made model {model.name} fail "
                      f"(SQLSTATE {sqlstate}) and was quarantined (rule {MODEL_RULE})")
            move_to_rejected(conn, source, row_id, MODEL_RULE, sqlstate, reason)
            conn.commit()
            counts[source] += 1
    if any(counts.values()):
        conn.execute("select audit.record('pipeline.quarantine', 'landing', %s::jsonb)",
                     (Jsonb({**counts, "rule": MODEL_RULE,
                                                "models": sorted({m.name for m in models})}),))
        conn.commit()
    return counts

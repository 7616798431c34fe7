"""The compliance report (`wardflow report`, the Dagster asset audit/compliance_report): one document an
auditor reads, as JSON (this module) and as one self-contained HTML page (orchestration/report_html.py).

Sections: data inventory by category × level; per-column classification with lineage to source fields and
treatments; privacy and quality check results; k-anonymity; sharing log; retention and purge evidence;
key-rotation history; access summary; audit-chain verification. Each names the obligations it evidences
(orchestration/report_obligations.py). Everything is read as wardflow_compliance (the audit schema) or from
the dbt declarations: names, levels, ids, counts, digests and times of pipeline events, never a data value.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from orchestration.report_obligations import obligations
from orchestration.warehouse.database import scalar

SECTIONS = ("inventory", "classification", "checks", "k_anonymity", "sharing", "retention", "keys", "access",
            "audit_chain")
TITLES = {"inventory": "Data inventory by category and level", "classification": "Classification and lineage",
          "checks": "Privacy and quality checks", "k_anonymity": "k-anonymity of the release",
          "sharing": "Data sharing log", "retention": "Retention and purge evidence",
          "keys": "Key rotation history", "access": "Access summary", "audit_chain": "Audit chain verification"}
RELEASE_LAYERS = ("analytics", "aggregates")


def section(key: str, summary: str, columns: list[str], rows: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"id": key, "title": TITLES[key], "obligations": obligations(key), "summary": summary,
            "columns": columns, "rows": rows, **extra}


def inventory(lineage_rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stored columns (sources and tables; staging and intermediate are never stored) by category × level."""
    stored = [r for r in lineage_rows if r["materialization"] != "ephemeral"]
    counts = Counter((r["category"], r["level"]) for r in stored)
    categories = sorted({c for c, _ in counts})
    rows = [[c, *[counts.get((c, level), 0) for level in range(1, 6)], sum(counts[(c, lv)] for lv in range(1, 6))]
            for c in categories]
    return section("inventory", f"{len(stored)} stored columns in {len({r['relation'] for r in stored})} relations",
                   ["category", "L1", "L2", "L3", "L4", "L5", "total"], rows)


def classification(lineage_rows: Sequence[Mapping[str, Any]], violations: list[str]) -> dict[str, Any]:
    """Every stored column: declaration, treatment, source fields it comes from and what it inherits."""
    from orchestration.lineage_store import source_fields, treatments

    rows = []
    for r in lineage_rows:
        if r["materialization"] == "ephemeral":
            continue
        key = f"{r['relation']}.{r['column_name']}"
        rows.append([r["relation"], r["column_name"], r["category"], r["level"], r["identifier"], r["treatment"],
                     ", ".join(treatments(lineage_rows, key)), "; ".join(source_fields(lineage_rows, key)),
                     f"L{r['inherited_level']} {r['inherited_identifier']}"])
    verdict = ("no direct identifier or level ≥ 4 value reaches a release relation untreated" if not violations
               else f"{len(violations)} untreated paths into a release relation")
    return section("classification", f"{len(rows)} stored columns; lineage check: {verdict}",
                   ["relation", "column", "category", "level", "identifier", "treatment", "treatments on the way",
                    "source fields", "inherited"], rows, violations=violations)


def _events(conn: psycopg.Connection, pattern: str, limit: int = 50) -> list[tuple]:
    return conn.execute("select event_id, occurred_at, actor, action, details::text from audit.events "
                        "where action like %s order by event_id desc limit %s", (pattern, limit)).fetchall()


def checks(conn: psycopg.Connection) -> dict[str, Any]:
    keep = ("ok", "checks_passed", "checks_failed", "blocking_failures", "failed_checks", "assets_materialized")
    rows = []
    for event_id, at, _actor, _action, details in _events(conn, "pipeline.run", 20):
        d = json.loads(details)
        rows.append([event_id, _time(at), d.get("job", ""), *[_cell(d.get(k)) for k in keep]])
    withdrawn = _events(conn, "privacy.release_withdrawn", 20)
    return section("checks", f"last {len(rows)} pipeline runs; release withdrawn {len(withdrawn)} times",
                   ["event", "time", "job", *keep], rows,
                   withdrawals=[[e, _time(at), _cell(json.loads(d).get("failed_checks"))]
                                for e, at, _a, _x, d in withdrawn])


def k_anonymity(conn: psycopg.Connection) -> dict[str, Any]:
    if not _exists(conn, "audit.k_anonymity_report"):
        return section("k_anonymity", "no records (the pipeline has not built audit.k_anonymity_report)", [], [])
    cur = conn.execute("select k, generalization_level, suppressed, patients, smallest_class, information_loss "
                       "from audit.k_anonymity_report order by generalization_level")
    rows = [list(r) for r in cur.fetchall()]
    published = [r for r in rows if not r[2]]
    smallest = min((r[4] for r in published), default=None)
    k = rows[0][0] if rows else None
    return section("k_anonymity", f"k = {k}; smallest published group {smallest}; "
                   f"{sum(r[3] for r in rows if r[2])} patients suppressed",
                   ["k", "generalization level", "suppressed", "patients", "smallest group", "information loss"], rows)


def _optional(conn: psycopg.Connection, key: str, table: str, query: str, columns: list[str],
              summary: Callable[[list[list[Any]]], str]) -> dict[str, Any]:
    """A section read from a table another part of wardflow writes: 'no records' when absent or empty."""
    if not _exists(conn, table):
        return section(key, f"no records ({table} does not exist in this database)", columns, [])
    try:
        with conn.transaction():  # a savepoint: a table of another layout must not end the report
            rows = [[_cell(v) for v in r] for r in conn.execute(query).fetchall()]
    except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction, psycopg.errors.DatatypeMismatch):
        return section(key, f"not shown: {table} does not have the columns this report reads", columns, [])
    return section(key, summary(rows) if rows else f"no records in {table}", columns, rows)


def sharing(conn: psycopg.Connection) -> dict[str, Any]:
    cols = ["time", "agreement", "recipient", "purpose", "status", "reason", "rows", "file SHA-256", "profile",
            "operator"]
    return _optional(conn, "sharing", "audit.sharing_log",
                     "select occurred_at, agreement, recipient, purpose, status, reason, row_count, file_sha256, "
                     "profile, operator from audit.sharing_log order by occurred_at desc limit 200", cols,
                     lambda rows: f"{len(rows)} exports and refusals, {sum(r[4] == 'refused' for r in rows)} refused")


def retention(conn: psycopg.Connection) -> dict[str, Any]:
    cols = ["time", "relation", "rule", "action", "dry run", "affected", "held", "oldest", "newest",
            "deleted keys digest", "operator"]
    return _optional(conn, "retention", "audit.retention_log",
                     "select occurred_at, relation, rule, action, dry_run, affected, held, oldest, newest, "
                     "keys_digest, operator from audit.retention_log order by occurred_at desc limit 200", cols,
                     lambda rows: f"{len(rows)} purge records, {sum(int(r[5]) for r in rows if r[4] is False)} rows "
                                  "deleted")


def access(conn: psycopg.Connection) -> dict[str, Any]:
    """Who ran what kind of statement against which relation: counts only, no statement text."""
    cols = ["role", "command", "relation", "statements", "first", "last"]
    return _optional(conn, "access", "audit.access_log",
                     "select role, command, coalesce(rel, ''), count(*), min(logged_at), max(logged_at) "
                     "from audit.access_log left join lateral unnest(relations) as rel on true "
                     "group by 1, 2, 3 order by 1, 2, 3", cols,
                     lambda rows: f"{sum(int(r[3]) for r in rows)} logged statements by "
                                  f"{len({r[0] for r in rows})} roles")


def keys(conn: psycopg.Connection) -> dict[str, Any]:
    rows = [[e, _time(at), actor, action, _cell({k: v for k, v in json.loads(d).items() if k != "seconds"})]
            for e, at, actor, action, d in _events(conn, "keys.%", 100)]
    return section("keys", f"{len(rows)} key operations" if rows else "no key rotation yet",
                   ["event", "time", "actor", "action", "details"], rows)


def audit_chain(result: Mapping[str, Any] | None, reason: str = "") -> dict[str, Any]:
    if result is None:
        return section("audit_chain", f"not verified: {reason}", [], [], ok=None)
    rows = [[r["first"], r["last"], r["problem"]] for r in result["broken"]]
    verdict = "intact" if result["ok"] else f"BROKEN in {len(rows)} ranges"
    return section("audit_chain", f"{verdict}: {result['events']} events, anchored head {result['anchored_head']}",
                   ["first event", "last event", "problem"], rows, ok=bool(result["ok"]))


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return bool(scalar(conn.execute("select to_regclass(%s) is not null", (relation,))))


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str, sort_keys=True)
    return "" if value is None else value

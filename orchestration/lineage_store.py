"""audit.column_lineage: the column lineage graph as rows (one per column, with its inputs and the source
field it was extracted from), written by the pipeline after each build and read by `wardflow lineage`, the
compliance report and OpenLineage events. Names and declarations only, never a data value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from orchestration.lineage import Graph
from orchestration.lineage_policy import carried, inherited

COLUMNS = ("relation", "column_name", "layer", "materialization", "category", "level", "identifier", "treatment",
           "source_field", "upstream", "inherited_level", "inherited_identifier", "untreated_from", "release", "resolved")


def rows(graph: Graph) -> list[dict[str, Any]]:
    carried_by = carried(graph)
    out = []
    for key, c in sorted(graph.columns.items()):
        level, identifier = inherited(graph, carried_by, key)
        out.append({"relation": c.relation, "column_name": c.column, "layer": c.layer,
                    "materialization": c.materialization, "category": c.category, "level": c.level,
                    "identifier": c.identifier, "treatment": c.treatment, "source_field": c.source_field or None,
                    "upstream": [u for u in c.upstream if u != key], "inherited_level": level,
                    "inherited_identifier": identifier, "untreated_from": sorted(carried_by.get(key, ())),
                    "release": c.relation in graph.release, "resolved": c.resolved})
    return out


def save(conn: psycopg.Connection, graph: Graph) -> int:
    """Replace the stored lineage with this graph in one transaction; returns the number of columns."""
    data = rows(graph)
    with conn.transaction():
        conn.execute("delete from audit.column_lineage")
        with conn.cursor() as cur:
            cur.executemany(f"insert into audit.column_lineage ({', '.join(COLUMNS)}) values "  # noqa: S608 - column names are constants; values go as parameters
                            f"({', '.join(['%s'] * len(COLUMNS))})", [tuple(r[k] for k in COLUMNS) for r in data])
    return len(data)


def load(conn: psycopg.Connection) -> list[dict[str, Any]]:
    cur = conn.execute(f"select {', '.join(COLUMNS)} from audit.column_lineage order by relation, column_name")  # noqa: S608 - column names are constants; values go as parameters
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def tree_lines(rows_: Sequence[Mapping[str, Any]], key: str, max_depth: int = 12) -> list[str]:
    """The path of one column back to its source fields, one line per column, indented by hop:

    analytics.vital_signs.value  [keep · health_status L3 sensitive]
      └ clinical.fct_vital_signs.value  [keep …]
          └ staging.stg_hl7__observations.value_num  ← HL7 OBX-5
    """
    by_key = {f"{r['relation']}.{r['column_name']}": r for r in rows_}
    lines: list[str] = []
    _tree(by_key, key, 0, lines, set(), max_depth)
    return lines


def _tree(by_key: Mapping[str, Mapping[str, Any]], key: str, depth: int, lines: list[str], path: set[str],
          max_depth: int) -> None:
    row = by_key.get(key)
    prefix = ("  " * depth + "└ ") if depth else ""
    if row is None:
        lines.append(f"{prefix}{key}  (not declared)")
        return
    label = f"{prefix}{key}  [{row['treatment'] or '?'} · {row['category']} L{row['level']} {row['identifier']}]"
    if row.get("source_field"):
        label += f"  ← {row['source_field']}"
    if not row.get("resolved", True):
        label += "  (SQL not analysed)"
    lines.append(label)
    if (row.get("source_field") and depth) or depth >= max_depth or key in path:
        return
    for parent in row.get("upstream") or []:
        _tree(by_key, parent, depth + 1, lines, path | {key}, max_depth)


def source_fields(rows_: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """The source fields one column is computed from: the first columns up its lineage that declare one."""
    return sorted({r["source_field"] for r in _path(rows_, key) if r.get("source_field")})


def treatments(rows_: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """The treatments declared along a column's lineage below staging (where they are applied)."""
    return sorted({r["treatment"] for r in _path(rows_, key)
                   if r["treatment"] not in ("", "keep") and r["layer"] != "staging"})


def _path(rows_: Sequence[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    """Every column from `key` up its lineage to the columns that declare a source field."""
    by_key = {f"{r['relation']}.{r['column_name']}": r for r in rows_}
    out, seen, stack = [], set(), [key]
    while stack:
        current = stack.pop()
        row = by_key.get(current)
        if row is None or current in seen:
            continue
        seen.add(current)
        out.append(row)
        if not row.get("source_field"):
            stack.extend(row.get("upstream") or [])
    return out


def release_problems(rows_: Sequence[Mapping[str, Any]]) -> list[str]:
    """The stored verdict of the lineage check: release columns an untreated risky path reaches."""
    return [f"{r['relation']}.{r['column_name']} <- {', '.join(r['untreated_from'])}" for r in rows_
            if r.get("release") and (r.get("untreated_from") or not r.get("resolved", True))]

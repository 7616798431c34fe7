"""The Great Expectations expectation every quality check runs as: a SQL expectation whose query returns one
row per sender (or group) with counts, judged against the tolerance each row carries. Imported only when a
suite runs (importing Great Expectations costs ≈ 2.5 s).

Its result holds counts per group and keyed hashes of the sample row keys, never a row: the query selects no
value, and the row keys are hashed here, before Great Expectations stores the result or renders Data Docs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from great_expectations.expectations import UnexpectedRowsExpectation

from expectations.checks import verdict

RowKeyHasher = Callable[[str], str]
_hasher: dict[str, RowKeyHasher | None] = {"current": None}


def set_row_key_hasher(hasher: RowKeyHasher | None) -> None:
    """The keyed hash for the run about to start (None: keys are dropped, only counts kept)."""
    _hasher["current"] = hasher


def safe_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counts per group, sample row keys replaced by their keyed hashes (or dropped without a key)."""
    hasher = _hasher["current"]
    out = []
    for row in rows:
        keys = [k for k in (row.get("sample_keys") or []) if k is not None]
        out.append({"group": row.get("grp"), "unexpected": int(row["unexpected"]), "total": int(row["total"]),
                    "allowed": int(row["allowed"]),
                    "row_key_hashes": [hasher(str(k)) for k in keys] if hasher else []})
    return out


class ExpectGroupsWithinTolerance(UnexpectedRowsExpectation):
    """Passes when no group returned by the query has more unexpected rows than it allows."""

    # one execution of the query: the groups are few and carry their own counts (no separate row count)
    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict:
        groups = safe_groups(metrics["unexpected_rows_query.table"])
        unexpected = sum(g["unexpected"] for g in groups)
        total = sum(g["total"] for g in groups)
        return {"success": verdict(groups), "result": {
            "observed_value": unexpected, "element_count": total, "unexpected_count": unexpected,
            "unexpected_percent": 100.0 * unexpected / total if total else 0.0,
            "details": {"groups": groups}}}

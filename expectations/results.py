"""Turn Great Expectations results into summaries that can be logged, stored and shown in Dagster:
counts and rates only. GX puts unexpected values in its results; they never leave this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SAFE_RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count",
                    "missing_percent", "unexpected_percent_nonmissing")


@dataclass(frozen=True)
class CheckOutcome:
    """One expectation's verdict on one relation: what was checked and how many rows failed."""

    suite: str
    relation: str
    expectation: str
    column: str | None
    success: bool
    counts: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"suite": self.suite, "relation": self.relation, "expectation": self.expectation,
                "column": self.column, "success": self.success, **self.counts}


def summarize(suite: str, relation: str, validation_result: Any) -> list[CheckOutcome]:
    """Keep the expectation type, column, verdict and numeric counts; drop every value list."""
    outcomes = []
    for result in validation_result.results:
        config = result.expectation_config
        kwargs = dict(config.kwargs or {})
        raw = dict(result.result or {})
        counts = {k: float(raw[k]) for k in SAFE_RESULT_KEYS if isinstance(raw.get(k), int | float)}
        if isinstance(raw.get("observed_value"), int | float) and not kwargs.get("column"):
            counts["observed_value"] = float(raw["observed_value"])
        name = (config.meta or {}).get("name") or config.type
        outcomes.append(CheckOutcome(suite, relation, name, kwargs.get("column"), bool(result.success), counts))
    return outcomes


@dataclass(frozen=True)
class QualityOutcome:
    """One quality expectation's verdict and its counts per group (sender, source kind, ward), hashed row keys."""

    suite: str
    expectation: str
    asset: str
    severity: str
    success: bool
    groups: list[dict[str, Any]]

    @property
    def unexpected(self) -> int:
        return sum(g["unexpected"] for g in self.groups)

    @property
    def total(self) -> int:
        return sum(g["total"] for g in self.groups)

    @property
    def failing_groups(self) -> list[str]:
        return [str(g["group"]) for g in self.groups if g["unexpected"] > g["allowed"]]

    def as_dict(self) -> dict[str, Any]:
        return {"suite": self.suite, "expectation": self.expectation, "asset": self.asset,
                "severity": self.severity, "success": self.success, "unexpected": self.unexpected,
                "total": self.total, "failing_groups": self.failing_groups}


def quality_outcome(check: Any, result: Any) -> QualityOutcome:
    """From a check and its GX result (expectations/gx_expectation.py): a query error is a failure, told by type."""
    details = (result.result or {}).get("details") or {}
    groups = list(details.get("groups") or [])
    return QualityOutcome(check.suite, check.name, check.relation, check.severity, bool(result.success), groups)


def row_key_hasher(key: bytes):
    """Keyed hash of a technical row key (16 bytes of HMAC-SHA256, hex): the same row hashes alike across runs,
    and only a holder of the quality key can tell which row it was."""
    import hashlib
    import hmac

    return lambda row_key: hmac.new(key, row_key.encode(), hashlib.sha256).hexdigest()[:32]


INSERT = """insert into audit.quality_results (run_id, suite, expectation, asset, severity, success, sender,
                                               unexpected, total, allowed, unexpected_rate, row_key_hashes)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""


def store(conn: Any, run_id: str, outcomes: list[QualityOutcome]) -> int:
    """One row per expectation and group (one row with no group when the relation was empty)."""
    rows = []
    for o in outcomes:
        for g in o.groups or [{"group": None, "unexpected": 0, "total": 0, "allowed": 0, "row_key_hashes": []}]:
            rate = g["unexpected"] / g["total"] if g["total"] else None
            rows.append((run_id, o.suite, o.expectation, o.asset, o.severity, o.success, g["group"],
                         g["unexpected"], g["total"], g["allowed"], rate, g["row_key_hashes"]))
    with conn.cursor() as cur:
        cur.executemany(INSERT, rows)
    return len(rows)

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

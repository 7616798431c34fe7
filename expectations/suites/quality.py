"""Quality suite: vital signs within physiological ranges (bounds from the vital_sign_codes seed, the same
table dbt loads), units in UCUM, keys present, nothing observed in the future."""

from __future__ import annotations

import csv
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "vital_sign_codes.csv"
MOSTLY = 0.995  # devices glitch: a handful of implausible readings is reported, a flood fails


def vital_bounds(seed: Path = SEED) -> dict[str, tuple[float, float, str]]:
    """vital_name → (min, max, UCUM unit)."""
    bounds: dict[str, tuple[float, float, str]] = {}
    with seed.open() as handle:
        for row in csv.DictReader(handle):
            bounds[row["vital_name"]] = (float(row["min_plausible"]), float(row["max_plausible"]), row["ucum_unit"])
    return bounds


def vital_sign_expectations(value_column: str = "value_num") -> list:
    import great_expectations as gx

    bounds = vital_bounds()
    out = [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="patient_key", meta={"name": "patient_key present"}),
        gx.expectations.ExpectColumnValuesToBeInSet(column="unit", value_set=sorted({b[2] for b in bounds.values()}),
                                                    meta={"name": "unit is UCUM"}),
        gx.expectations.ExpectColumnValuesToBeInSet(column="vital_name", value_set=sorted(bounds),
                                                    meta={"name": "known vital sign"}),
    ]
    for vital, (low, high, _unit) in sorted(bounds.items()):
        out.append(gx.expectations.ExpectColumnValuesToBeBetween(
            column=value_column, min_value=low, max_value=high, mostly=MOSTLY,
            row_condition=f'col("vital_name")=="{vital}"', condition_parser="great_expectations",
            meta={"name": f"{vital} within {low:g}–{high:g}"}))
    return out

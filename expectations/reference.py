"""The quality layer's own reference data (expectations/reference/*.csv), read as typed rows and written into
SQL as VALUES lists. Kept apart from the dbt seeds on purpose: the checks must not share their definition of
"wrong" with the models they check (clinical.fct_vital_signs computes is_plausible from the dbt seed).

vital_ranges.csv: one row per LOINC code and UCUM unit: plausible range, largest change per minute between
consecutive readings of one stream, and the run of identical readings that counts as a flat line (blank: none).
unit_mixups.csv: one row per code and labelled unit: a value sent in ``sent_as`` converts to the labelled unit
as value × factor + offset (a temperature in °F labelled Cel, a pressure in kPa labelled mm[Hg]).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class VitalRange:
    loinc_code: str
    vital_name: str
    ucum_unit: str
    low: float
    high: float
    max_change_per_min: float
    flat_run: int | None


@dataclass(frozen=True)
class UnitMixup:
    loinc_code: str
    ucum_unit: str
    sent_as: str
    factor: float
    offset: float


@cache
def vital_ranges(folder: Path = FOLDER) -> tuple[VitalRange, ...]:
    with (folder / "vital_ranges.csv").open() as handle:
        return tuple(VitalRange(r["loinc_code"], r["vital_name"], r["ucum_unit"], float(r["min_plausible"]),
                                float(r["max_plausible"]), float(r["max_change_per_min"]),
                                int(r["flat_run"]) if r["flat_run"] else None) for r in csv.DictReader(handle))


@cache
def unit_mixups(folder: Path = FOLDER) -> tuple[UnitMixup, ...]:
    with (folder / "unit_mixups.csv").open() as handle:
        return tuple(UnitMixup(r["loinc_code"], r["ucum_unit"], r["sent_as"], float(r["factor"]), float(r["offset"]))
                     for r in csv.DictReader(handle))


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ranges_sql() -> str:
    """``(values …) as ref(loinc_code, ucum_unit, low, high, max_change, flat_run)``."""
    rows = ", ".join(f"({_text(r.loinc_code)}, {_text(r.ucum_unit)}, {r.low!r}::float8, {r.high!r}::float8, "
                     f"{r.max_change_per_min!r}::float8, {r.flat_run if r.flat_run else 'null'}::int)"
                     for r in vital_ranges())
    return f"(values {rows}) as ref(loinc_code, ucum_unit, low, high, max_change, flat_run)"


def known_pair_sql(alias: str = "v") -> str:
    """True when the row's (loinc_code, unit) is one of the reference's."""
    pairs = ", ".join(f"({_text(r.loinc_code)}, {_text(r.ucum_unit)})" for r in vital_ranges())
    return f"({alias}.loinc_code, {alias}.unit) in ({pairs})"


def mixup_sql(alias: str = "v") -> str:
    """True when the value is implausible in its unit but plausible once converted from the unit it is often
    confused with: a plain boolean expression (no subquery per row), one term per unit_mixups.csv row."""
    ranges = {(r.loinc_code, r.ucum_unit): r for r in vital_ranges()}
    terms = []
    for m in unit_mixups():
        r = ranges.get((m.loinc_code, m.ucum_unit))
        if r is None or m.factor <= 0:
            continue
        low, high = (r.low - m.offset) / m.factor, (r.high - m.offset) / m.factor
        terms.append(f"({alias}.loinc_code = {_text(m.loinc_code)} and {alias}.unit = {_text(m.ucum_unit)} "
                     f"and not {alias}.value_num between {r.low!r} and {r.high!r} "
                     f"and {alias}.value_num between {low!r} and {high!r})")
    return "(" + " or ".join(terms or ["false"]) + ")"

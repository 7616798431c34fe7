"""Physiology and units: every value plausible for its code and unit (expectations/reference/vital_ranges.csv,
one expectation per row), the unit one the code is measured in, a value where the code is numeric, a unit
mix-up (°F labelled °C, kPa labelled mm[Hg]) reported as such and not as out of range, and NIBP
systolic > mean > diastolic. All blocking: a wrong number here misleads a clinician."""

from __future__ import annotations

from typing import Any

from expectations.checks import Check, make
from expectations.reference import known_pair_sql, mixup_sql, ranges_sql, vital_ranges
from expectations.suites.vitals_base import VITALS, VITALS_ASSET

SUITE = "physiology"
GLITCHES: dict[str, Any] = {"rate": 0.01, "floor": 5}  # a device sends the odd impossible value; a fault sends many

MIXED_UP = mixup_sql("v")


def range_checks() -> list[Check]:
    """One expectation per reference row: adding a code or a unit is one row in the CSV."""
    checks = []
    for r in vital_ranges():
        findings = f"""select v.row_key, v.grp, not v.value_num between {r.low!r} and {r.high!r} and not {MIXED_UP} as bad
                       from ({VITALS}) as v where v.loinc_code = '{r.loinc_code}' and v.unit = '{r.ucum_unit}'"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value
        checks.append(make(SUITE, f"{r.vital_name} in {r.ucum_unit} within {r.low:g} to {r.high:g}", VITALS_ASSET,
                           "blocking", findings, **GLITCHES,
                           description=f"LOINC {r.loinc_code} in {r.ucum_unit}: plausible range (not a unit mix-up)."))
    return checks


def unit_checks() -> list[Check]:
    unit_known = f"""select v.row_key, v.grp, not {known_pair_sql('v')} as bad from ({VITALS}) as v"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value
    numeric = f"""select v.row_key, v.grp, v.value_num is null or v.value_num in ('NaN', 'Infinity', '-Infinity') as bad
                  from ({VITALS}) as v"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value
    mixup = f"""select v.row_key, v.grp, {MIXED_UP} as bad from ({VITALS}) as v"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value
    return [
        make(SUITE, "unit consistent with code", VITALS_ASSET, "blocking", unit_known,
             description="The (LOINC code, UCUM unit) pair is one of the reference's."),
        make(SUITE, "numeric value", VITALS_ASSET, "blocking", numeric, description="A finite number."),
        make(SUITE, "no unit mix-up", VITALS_ASSET, "blocking", mixup, **GLITCHES,
             description="No value that is implausible in its unit but plausible once converted from a unit it is "
                         "confused with (expectations/reference/unit_mixups.csv)."),
    ]


NIBP = f"""
select min(v.row_key) as row_key, min(v.grp) as grp,
       not (max(v.value_num) filter (where v.loinc_code = '8480-6') > max(v.value_num) filter (where v.loinc_code = '8478-0')
            and max(v.value_num) filter (where v.loinc_code = '8478-0') > max(v.value_num) filter (where v.loinc_code = '8462-4')) as bad
from ({VITALS}) as v join {ranges_sql()} on ref.loinc_code = v.loinc_code and ref.ucum_unit = v.unit
where v.loinc_code in ('8480-6', '8478-0', '8462-4') and v.value_num between ref.low and ref.high
group by v.patient_key, v.device_key, v.observed_at
having count(distinct v.loinc_code) = 3"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


def suite() -> list[Check]:
    return [*range_checks(), *unit_checks(),
            make(SUITE, "NIBP systolic > mean > diastolic", VITALS_ASSET, "blocking", NIBP, **GLITCHES,
                 description="Plausible systolic, mean and diastolic taken together are ordered.")]

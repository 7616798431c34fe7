"""Integrity: one observation per (patient, device, code as sent, time); every observation's patient and
device exist; encounter times ordered. Blocking: a doubled or orphaned reading skews every aggregate."""

from __future__ import annotations

from expectations.checks import RELATION, Check, make
from expectations.suites.vitals_base import VITALS, VITALS_ASSET

SUITE = "integrity"

# Code as sent: a monitor reports heart rate (ECG) and pulse rate (oximeter) at the same instant, both LOINC 8867-4.
DUPLICATES = f"""
select min(v.row_key) as row_key, min(v.grp) as grp, count(*) > 1 as bad
from ({VITALS}) as v
group by v.patient_key, v.device_key, v.source_code_system, v.source_code, v.observed_at"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

EXIST = f"""
select v.row_key, v.grp,
       not exists (select from clinical.dim_patients as p where p.patient_key = v.patient_key)
       or (v.device_key is not null
           and not exists (select from vault.vault_devices as d where d.device_key = v.device_key)) as bad
from ({VITALS}) as v"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

ENCOUNTERS = f"""select md5(e.encounter_key) as row_key, coalesce(e.point_of_care, '') as grp,
                        e.discharge_at < e.admit_at as bad
                 from {RELATION} as e where e.admit_at is not null and e.discharge_at is not null"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


def suite() -> list[Check]:
    return [
        make(SUITE, "one observation per patient, device, code and time", VITALS_ASSET, "blocking", DUPLICATES,
             description="No two rows for the same patient, device, code as sent and time."),
        make(SUITE, "patient and device exist", VITALS_ASSET, "blocking", EXIST,
             description="Every observation's patient is in clinical.dim_patients and its device in vault.vault_devices."),
        make(SUITE, "encounter times ordered", ("clinical", "fct_encounters"), "blocking", ENCOUNTERS,
             description="Discharge not before admission."),
    ]

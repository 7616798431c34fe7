"""Time: no observation in the future (beyond a tolerance for clock drift) or before the patient's birth year,
landing lag (received − observed) within a bound per live source, and no silent device: a device that was
sending at its period and stopped for longer than SILENT_PERIODS periods while its patient is still admitted."""

from __future__ import annotations

from expectations.checks import Check, make
from expectations.suites.vitals_base import VITALS, VITALS_ASSET, VITALS_BY_SOURCE

SUITE = "time"
CLOCK_DRIFT = "5 minutes"
# Only live feeds have a lag to watch; files and replays land whatever their age.
LAG_BOUNDS = {"mllp": "15 minutes", "rest": "1 hour"}
SILENT_PERIODS = 4

FUTURE = f"""select v.row_key, v.grp, v.observed_at > now() + interval '{CLOCK_DRIFT}' as bad
             from ({VITALS_BY_SOURCE}) as v"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

BEFORE_BIRTH = f"""select v.row_key, v.grp,
                          v.age_at_event < 0 or v.observed_at < make_date(p.birth_year, 1, 1) as bad
                   from ({VITALS_BY_SOURCE}) as v join clinical.dim_patients as p using (patient_key)
                   where p.birth_year is not null"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


def _lag() -> str:
    bounds = ", ".join(f"('{kind}', interval '{bound}')" for kind, bound in LAG_BOUNDS.items())
    return f"""select v.row_key, v.grp, v.received_at - v.observed_at > b.bound as bad
               from ({VITALS}) as v join (values {bounds}) as b(kind, bound) on b.kind = v.source_kind"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


# One stream = one device reporting one patient. Its period is its usual gap, the 90th percentile of the gaps
# between its reports (a burst of extra readings does not shorten it); it is silent
# when, at the end of the patient's stay (or of the data, if still admitted), it has not reported for more than
# SILENT_PERIODS periods. Streams whose patient has no open or later-ending encounter are not judged.
SILENT = f"""
with reports as (
    select distinct v.patient_key, v.device_key, v.observed_at, v.grp from ({VITALS}) as v where v.device_key is not null
),
gaps as (
    select patient_key, device_key, grp, observed_at,
           observed_at - lag(observed_at) over (partition by patient_key, device_key order by observed_at) as gap
    from reports
),
streams as (
    select patient_key, device_key, min(grp) as grp, max(observed_at) as last_at, count(*) as reports,
           percentile_cont(0.9) within group (order by extract(epoch from gap)) as period_s
    from gaps group by patient_key, device_key
),
data_end as (select max(observed_at) as at from reports),
stays as (
    select s.patient_key, s.device_key, s.grp, s.last_at, s.period_s,
           (select least(coalesce(max(e.discharge_at), 'infinity'), (select at from data_end))
            from clinical.fct_encounters as e
            where e.patient_key = s.patient_key and e.admit_at <= s.last_at
              and (e.discharge_at is null or e.discharge_at > s.last_at)) as admitted_until
    from streams as s where s.reports >= 4 and s.period_s > 0
)
select md5(patient_key || device_key) as row_key, grp,
       extract(epoch from admitted_until - last_at) > {SILENT_PERIODS} * period_s as bad
from stays where admitted_until is not null"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


def suite() -> list[Check]:
    return [
        make(SUITE, "not in the future", VITALS_ASSET, "blocking", FUTURE,
             description=f"Observed at most {CLOCK_DRIFT} after the check runs."),
        make(SUITE, "not before birth", VITALS_ASSET, "blocking", BEFORE_BIRTH,
             description="Observed in or after the patient's birth year, never at a negative age."),
        make(SUITE, "landing lag within bound", VITALS_ASSET, "warning", _lag(),
             description="Received − observed within " + ", ".join(f"{b} ({k})" for k, b in LAG_BOUNDS.items()) + "."),
        make(SUITE, "no silent device", VITALS_ASSET, "warning", SILENT,
             description=f"No device silent for more than {SILENT_PERIODS} of its periods while its patient is admitted."),
    ]

"""Injected or fake data: impossible rates of change between consecutive plausible readings of one stream
(patient, device, code), flat lines (a run of identical readings far beyond physiological variability, per
vital_ranges.csv), one patient streamed by two devices of the same kind at the same time, and a sender whose
hourly volume is far above its own baseline."""

from __future__ import annotations

from expectations.checks import Check, make
from expectations.reference import ranges_sql
from expectations.suites.vitals_base import VITALS, VITALS_ASSET

SUITE = "injected"
PARALLEL_BUCKETS = 4  # 15-minute buckets with two devices of one kind on one patient: a handover takes one or two
VOLUME_FACTOR = 3  # an hour with more than 3 × the sender's median hourly readings

PLAUSIBLE = f"""
select v.row_key, v.grp, v.patient_key, v.device_key, v.loinc_code, v.observed_at, v.value_num, ref.max_change,
       ref.flat_run
from ({VITALS}) as v join {ranges_sql()} on ref.loinc_code = v.loinc_code and ref.ucum_unit = v.unit
where v.value_num between ref.low and ref.high"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

RATE = f"""
select row_key, grp,
       abs(value_num - prev_value) / greatest(extract(epoch from observed_at - prev_at) / 60, 1) > max_change as bad
from (select p.*, lag(value_num) over w as prev_value, lag(observed_at) over w as prev_at
      from ({PLAUSIBLE}) as p
      window w as (partition by patient_key, device_key, loinc_code order by observed_at, row_key)) as s
where prev_at is not null"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

# Gaps and islands: a new island starts where the value changes; an island as long as flat_run is a flat line.
FLAT = f"""
select min(row_key) as row_key, min(grp) as grp, count(*) >= min(flat_run) as bad
from (select s.*, sum(changed) over (partition by patient_key, device_key, loinc_code order by observed_at, row_key)
                  as island
      from (select p.*, case when value_num is distinct from lag(value_num) over (
                            partition by patient_key, device_key, loinc_code order by observed_at, row_key)
                        then 1 else 0 end as changed
            from ({PLAUSIBLE}) as p where flat_run is not null) as s) as islands
group by patient_key, device_key, loinc_code, island"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

PARALLEL = f"""
select md5(b.patient_key || b.device_kind) as row_key, b.device_kind as grp,
       count(*) filter (where b.devices > 1) >= {PARALLEL_BUCKETS} as bad
from (select v.patient_key, d.device_kind, date_bin('15 minutes', v.observed_at, 'epoch') as bucket,
             count(distinct v.device_key) as devices
      from ({VITALS}) as v join clinical.dim_devices as d using (device_key)
      where v.loinc_code = '8867-4'
      group by 1, 2, 3) as b
group by b.patient_key, b.device_kind"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

VOLUME = f"""
with hours as (select v.grp, date_trunc('hour', v.observed_at) as hour, count(*) as readings
               from ({VITALS}) as v group by 1, 2),
     baseline as (select grp, percentile_cont(0.5) within group (order by readings) as median from hours group by grp)
select h.grp || '@' || row_number() over (partition by h.grp order by h.hour) as row_key, h.grp,
       h.readings > {VOLUME_FACTOR} * b.median as bad
from hours as h join baseline as b using (grp)"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


def suite() -> list[Check]:
    return [
        make(SUITE, "rate of change possible", VITALS_ASSET, "blocking", RATE, rate=0.001, floor=3,
             description="Between consecutive plausible readings of one stream, change per minute within the "
                         "reference's max_change_per_min."),
        make(SUITE, "no flat line", VITALS_ASSET, "blocking", FLAT,
             description="No run of identical readings as long as the reference's flat_run."),
        make(SUITE, "one device of a kind per patient", VITALS_ASSET, "blocking", PARALLEL,
             description=f"No patient's heart rate from two devices of one kind in {PARALLEL_BUCKETS} or more "
                         "15-minute buckets."),
        make(SUITE, "sender volume near baseline", VITALS_ASSET, "warning", VOLUME,
             description=f"No hour with more than {VOLUME_FACTOR} × the sender's median hourly readings."),
    ]

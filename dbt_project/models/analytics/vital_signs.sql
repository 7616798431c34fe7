-- One row per vital-sign measurement, desensitized for analysts: pseudonymous keys, value, unit and code
-- kept; times shifted per patient (intervals and time of day preserved); age banded, 90+ grouped.
select
    f.patient_key,
    f.device_key,
    f.loinc_code,
    f.vital_name,
    f.value_num as value,
    f.unit,
    f.observed_at + make_interval(days => p.date_shift_days) as observed_at,
    f.abnormal_flag,
    f.is_plausible,
    {{ wardflow_age_band('f.age_at_event') }} as age_band,
    p.sex,
    p.province,
    p.city
from {{ ref('fct_vital_signs') }} as f
join {{ ref('dim_patients') }} as p using (patient_key)

-- One row per vital-sign measurement (HL7 OBX or FHIR Observation value), keyed by pseudonyms, with
-- true times (shifted only in analytics) and the patient's age at the event computed in flight.
select
    o.observation_key,
    o.source,
    o.patient_key,
    o.device_key,
    o.loinc_code,
    o.vital_name,
    o.source_code_system,
    o.source_code,
    o.value_num,
    o.unit,
    o.observed_at,
    o.abnormal_flag,
    (o.value_num between o.min_plausible and o.max_plausible) as is_plausible,
    extract(year from age(o.observed_at::date, p.birth_date))::int as age_at_event,
    o.landing_row_id
from {{ ref('int_vital_signs_unified') }} as o
left join {{ ref('int_patients_unified') }} as p using (patient_key)
where o.patient_key is not null

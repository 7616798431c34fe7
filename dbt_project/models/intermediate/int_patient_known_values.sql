-- One row per patient: every name, phone and identifier seen for the patient or the people around them
-- (next of kin, guarantor, insured, doctors) and of the devices that measured them, as a jsonb object
-- value → tag for vault.scrub_text().
with people as (
    select 'hl7' as source, message_id::text as occurrence, tag, family, given from {{ ref('stg_hl7__people') }}
    union all
    select 'fhir', resource_row_id::text, tag, family, given from {{ ref('stg_fhir__people') }}
),
candidates as (
    select r.patient_key, p.tag, v.value
    from people as p
    join {{ ref('int_patient_occurrences_resolved') }} as r using (source, occurrence)
    cross join lateral (values
        (coalesce(p.family, '') || coalesce(p.given, '')),
        (concat_ws(' ', p.given, p.family)),
        (concat_ws(' ', p.family, p.given)),
        (case when p.tag <> 'NAME' or char_length(p.family) >= 2 then p.family end),
        (case when char_length(p.given) >= 2 then p.given end)
    ) as v(value)
    where char_length(v.value) >= 2
),
devices as (
    -- serials and EUI-64s of the devices that measured the patient (notes mention them)
    select distinct patient_key, 'DEVICE' as tag, split_part(device_identifier, '|', 2) as value
    from {{ ref('int_vital_signs_unified') }}
    where device_identifier is not null and patient_key is not null
)
select patient_key, jsonb_object_agg(value, '[' || tag || ']') as known_values
from (select distinct patient_key, tag, value from candidates
      union select patient_key, tag, value from devices where char_length(value) >= 4) as c
group by patient_key

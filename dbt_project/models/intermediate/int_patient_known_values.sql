-- One row per patient: every name, phone and identifier seen for the patient or the people around them
-- (next of kin, guarantor, insured, doctors) and of the devices that measured them (from the vault), as a jsonb object
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
device_links as (
    -- which devices measured which patient, from new readings (one row per pair before anything is decrypted)
    select distinct f.patient_key, f.device_key
    from {{ ref('fct_vital_signs') }} as f
    where f.patient_key is not null and f.device_key is not null
      and (f.source = 'hl7' and f.landing_row_id > {{ wardflow_since('hl7') }}
           or f.source = 'fhir' and f.landing_row_id > {{ wardflow_since('fhir') }})
),
devices as (
    -- their serials and EUI-64s, from the vault (one row per device) rather than from the landing payloads
    select l.patient_key, 'DEVICE' as tag,
           split_part(vault.decrypt_text(d.device_identifier_enc, d.key_version), '|', 2) as value
    from device_links as l
    join {{ ref('vault_devices') }} as d using (device_key)
)
select patient_key, jsonb_object_agg(value, '[' || tag || ']') as known_values
from (select distinct patient_key, tag, value from candidates
      union select patient_key, tag, value from devices where char_length(value) >= 4) as c
group by patient_key

-- One row per vital-sign measurement from HL7 OBX or FHIR Observation, mapped to LOINC and UCUM, with
-- patient and device pseudonym keys. Non-vital observations are left for other models.
with hl7 as (
    select 'hl7:' || o.message_id || ':' || o.seg_index as observation_key, 'hl7' as source,
           o.message_id::text as occurrence, o.code_system, o.code, o.value_num, o.unit_code,
           o.observed_at, o.abnormal_flag,
           case when o.device_id is not null then 'eui64|' || upper(o.device_id) end as device_identifier,
           o.message_id as landing_row_id
    from {{ ref('stg_hl7__observations') }} as o
    where o.value_type in ('NM', 'SN') and o.value_num is not null
),
fhir_device_refs as (
    select distinct on (ref) ref, device_identifier from (
        select full_url as ref, 'serial|' || upper(device_identifier) as device_identifier
        from {{ ref('stg_fhir__devices') }} where full_url is not null and device_identifier is not null
        union all
        select 'Device/' || resource_id, 'serial|' || upper(device_identifier)
        from {{ ref('stg_fhir__devices') }} where resource_id is not null and device_identifier is not null
    ) as d
    order by ref
),
fhir_observations as (
    select o.*,
           {{ fhir_local_ref('o.subject_reference', 'Patient') }} as subject_ref,
           {{ fhir_local_ref('o.device_reference', 'Device') }} as device_ref
    from {{ ref('stg_fhir__observations') }} as o
    where o.value_num is not null and coalesce(o.status, 'final') not in ('entered-in-error', 'cancelled')
),
fhir as (
    select 'fhir:' || o.resource_row_id || ':' || o.component_index, 'fhir', p.occurrence,
           case when o.code_system = 'http://loinc.org' then 'LN' else o.code_system end, o.code, o.value_num,
           o.unit_code, o.observed_at, o.abnormal_flag, d.device_identifier, o.resource_row_id
    from fhir_observations as o
    left join {{ ref('int_fhir_patient_refs') }} as p on p.ref = o.subject_ref
    left join fhir_device_refs as d on d.ref = o.device_ref
),
unified as (select * from hl7 union all select * from fhir)
select
    u.observation_key,
    u.source,
    r.patient_key,
    u.source || ':' || u.occurrence as patient_occurrence,
    vault.pseudonym('device|' || u.device_identifier) as device_key,
    u.device_identifier,
    codes.loinc_code,
    codes.vital_name,
    u.code_system as source_code_system,
    u.code as source_code,
    u.value_num,
    coalesce(units.ucum_unit, u.unit_code) as unit,
    u.observed_at,
    nullif(u.abnormal_flag, '') as abnormal_flag,
    codes.min_plausible,
    codes.max_plausible,
    u.landing_row_id
from unified as u
join {{ ref('vital_sign_codes') }} as codes
  on codes.source_system = u.code_system and codes.source_code = u.code
left join {{ ref('int_patient_occurrences_resolved') }} as r on r.source = u.source and r.occurrence = u.occurrence
left join {{ ref('unit_map') }} as units on units.source_unit = u.unit_code
where u.observed_at is not null

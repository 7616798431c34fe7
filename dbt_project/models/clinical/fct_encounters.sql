-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='encounter_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["update {{ this }} as t set patient_key = p.patient_key from (select distinct on (occurrence) occurrence, patient_key from {{ ref('patient_occurrences') }} where source = 'hl7') as p where p.occurrence = t.last_hl7_message_id::text and t.patient_key is distinct from p.patient_key", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per encounter (visit), keyed by a pseudonym of its visit number (PV1-19), merged over the ADT
-- and ORU messages that mention it: class, ward, service, admission and discharge times.
with visits as (
    select v.*, r.patient_key,
           vault.pseudonym('visit|' || coalesce(v.visit_number, 'message:' || v.message_id)) as encounter_key
    from {{ ref('stg_hl7__visits') }} as v
    join {{ ref('int_patient_occurrences_resolved') }} as r on r.source = 'hl7' and r.occurrence = v.message_id::text
),
new as (
    select
        encounter_key,
        (array_agg(patient_key order by message_id desc))[1] as patient_key,
        (array_agg(patient_class order by message_id desc) filter (where patient_class is not null))[1] as patient_class,
        (array_agg(point_of_care order by message_id desc) filter (where point_of_care is not null))[1] as point_of_care,
        (array_agg(hospital_service order by message_id desc) filter (where hospital_service is not null))[1] as hospital_service,
        min(coalesce(admit_at, case when trigger_event = 'A01' then message_at end)) as admit_at,
        max(coalesce(discharge_at, case when trigger_event = 'A03' then message_at end)) as discharge_at,
        count(*) as messages,
        max(message_id) as last_hl7_message_id
    from visits
    group by encounter_key
)
select
    {{ wardflow_merged_columns('encounter_key') }}
from new
{% if is_incremental() %}left join {{ this }} as old using (encounter_key){% endif %}

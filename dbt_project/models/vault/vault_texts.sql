-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='text_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_repoint_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per free-text value (notes and device alarm texts) with its patient, encrypted: what the Python
-- scrubber asset (clinical.scrubbed_texts) reads. Nothing here is scrubbed; nothing leaves the vault in clear.
with texts as (
    select 'note:' || n.note_key as text_key, 'note' as text_kind, n.source, n.landing_row_id,
           n.patient_occurrence, n.patient_key, n.note_text as body
    from {{ ref('int_notes_unified') }} as n
    union all
    select 'alarm:hl7:' || a.message_id || ':' || a.alarm_index, 'alarm', 'hl7', a.message_id,
           'hl7:' || a.message_id, r.patient_key, a.event_text
    from {{ ref('stg_hl7__alarms') }} as a
    join {{ ref('int_patient_occurrences_resolved') }} as r on r.source = 'hl7' and r.occurrence = a.message_id::text
    where nullif(trim(a.event_text), '') is not null
)
select
    {{ wardflow_columns() }}
from texts

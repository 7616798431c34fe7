-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='alarm_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_repoint_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per device alarm (IHE PCD-04 ORU^R40), keyed by pseudonyms; the event text is scrubbed by the
-- Python asset clinical.scrubbed_texts (text key 'alarm:' || alarm_key) and joined in analytics.
select
    {{ wardflow_columns() }}
from {{ ref('stg_hl7__alarms') }} as a
join {{ ref('int_patient_occurrences_resolved') }} as r on r.source = 'hl7' and r.occurrence = a.message_id::text

-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='observation_key',
    indexes=[{'columns': ['observation_key'], 'unique': true}], incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_repoint_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per vital-sign measurement (HL7 OBX or FHIR Observation value), keyed by pseudonyms, with
-- true times (shifted only in analytics) and the patient's age at the event computed in flight.
-- Incremental: only landing rows above the watermark are read; merges re-point older rows afterwards.
-- Columns and their treatments are declared in _clinical__models.yml.
select
    {{ wardflow_columns() }}
from {{ ref('int_vital_signs_unified') }} as o
left join {{ ref('int_patients_unified') }} as p using (patient_key)
where o.patient_key is not null

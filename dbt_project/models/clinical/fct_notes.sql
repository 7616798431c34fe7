-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='note_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_repoint_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per free-text note, without its text: the text is scrubbed by the Python asset
-- clinical.scrubbed_texts (deid/, with the patient's known values) and joined in analytics.
select
    {{ wardflow_columns() }}
from {{ ref('int_notes_unified') }}

-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='note_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_repoint_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per free-text note, scrubbed at build time: the patient's own known identifiers and those of
-- the people around them are replaced by tags, then the pattern detectors run (vault.scrub_text).
select
    {{ wardflow_columns() }}
from {{ ref('int_notes_unified') }}

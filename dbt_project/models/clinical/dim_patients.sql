-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='patient_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_drop_retired_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per patient, pseudonymized: generalized demographics, display masks and the patient's date
-- shift. Incremental: patients with new occurrences are merged. Declared in _clinical__models.yml.
{{ wardflow_incremental_merge(ref('int_patients_unified'), 'patient_key') }}

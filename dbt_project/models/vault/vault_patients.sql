-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='patient_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_drop_retired_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per patient: the direct identifiers, encrypted with the current key version (pgcrypto,
-- AES-256-CBC + HMAC-SHA256, connectors/crypto.py layout). Readable only by the pipeline role.
-- Incremental: patients with new occurrences are merged (declared per column in _vault__models.yml).
{{ wardflow_incremental_merge(ref('int_patients_unified'), 'patient_key') }}

-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='patient_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks('max(last_hl7_message_id)', 'max(last_fhir_row_id)') }}",
    post_hook="{{ wardflow_drop_retired_patients() }}"
) }}
-- One row per patient, pseudonymized: generalized demographics, display masks and the patient's date
-- shift. Incremental: patients with new occurrences are merged. Declared in _clinical__models.yml.
with new as (
    select
        {{ wardflow_columns() }}
    from {{ ref('int_patients_unified') }}
)
select
    {{ wardflow_merged_columns('patient_key') }}
from new
{% if is_incremental() %}left join {{ this }} as old using (patient_key){% endif %}

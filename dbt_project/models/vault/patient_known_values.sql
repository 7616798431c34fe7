-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', unique_key='patient_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_drop_retired_patients() }}", "{{ wardflow_save_watermarks() }}"]
) }}
-- One row per patient: every name, phone, e-mail, address, identifier and device serial seen for the
-- patient or the people around them, encrypted (jsonb value → tag). Free text is scrubbed against it.
with watermarks as (
    select patient_key,
           max(occurrence::bigint) filter (where source = 'hl7') as last_hl7_message_id,
           max(occurrence::bigint) filter (where source = 'fhir') as last_fhir_row_id
    from {{ ref('int_patient_occurrences_resolved') }}
    group by patient_key
),
new as (
    select k.patient_key, k.known_values, w.last_hl7_message_id, w.last_fhir_row_id
    from {{ ref('int_patient_known_values') }} as k
    left join watermarks as w using (patient_key)
)
select
    new.patient_key,
    vault.encrypt_text((
        {%- if is_incremental() %}
        coalesce(vault.decrypt_text(old.known_values_enc, old.key_version)::jsonb, '{}'::jsonb) ||
        {%- endif %}
        new.known_values)::text) as known_values_enc,
    vault.current_key_version() as key_version,
    {%- if is_incremental() %}
    greatest(old.last_hl7_message_id, new.last_hl7_message_id) as last_hl7_message_id,
    greatest(old.last_fhir_row_id, new.last_fhir_row_id) as last_fhir_row_id
    {%- else %}
    new.last_hl7_message_id,
    new.last_fhir_row_id
    {%- endif %}
from new
{% if is_incremental() %}left join {{ this }} as old using (patient_key){% endif %}

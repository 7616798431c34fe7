{{ config(
    materialized='incremental', unique_key='device_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook="{{ wardflow_save_watermarks() }}"
) }}
-- One row per device: its serial or EUI-64, encrypted; the device key is its pseudonym.
-- Incremental: readings above the watermark add new devices and advance known ones.
with new as (
    select
        device_key,
        min(device_identifier) as device_identifier,
        max(landing_row_id) filter (where source = 'hl7') as last_hl7_row_id,
        max(landing_row_id) filter (where source = 'fhir') as last_fhir_row_id
    from {{ ref('int_vital_signs_unified') }}
    where device_key is not null
    group by device_key
)
select
    new.device_key,
    {%- if is_incremental() %}
    coalesce(old.device_identifier_enc, vault.encrypt_text(new.device_identifier)) as device_identifier_enc,
    coalesce(old.key_version, vault.current_key_version()) as key_version,
    greatest(old.last_hl7_row_id, new.last_hl7_row_id) as last_hl7_row_id,
    greatest(old.last_fhir_row_id, new.last_fhir_row_id) as last_fhir_row_id
    {%- else %}
    vault.encrypt_text(new.device_identifier) as device_identifier_enc,
    vault.current_key_version() as key_version,
    new.last_hl7_row_id,
    new.last_fhir_row_id
    {%- endif %}
from new
{% if is_incremental() %}left join {{ this }} as old using (device_key){% endif %}

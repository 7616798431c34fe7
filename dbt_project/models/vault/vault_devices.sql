{{ config(
    materialized='incremental', unique_key='device_key', incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook="{{ wardflow_save_watermarks() }}"
) }}
-- One row per device: its serial or EUI-64, encrypted; the device key is its pseudonym.
-- Incremental: devices seen in new landing rows are added or advanced (declared in _vault__models.yml).
{{ wardflow_incremental_merge(ref('int_devices_seen'), 'device_key') }}

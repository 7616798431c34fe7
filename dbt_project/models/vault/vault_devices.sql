-- One row per device: its serial or EUI-64, encrypted; the device key is its pseudonym.
select
    device_key,
    vault.encrypt_text(min(device_identifier)) as device_identifier_enc,
    vault.current_key_version() as key_version
from {{ ref('int_vital_signs_unified') }}
where device_key is not null
group by device_key

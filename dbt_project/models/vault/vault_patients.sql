-- One row per patient: the direct identifiers, encrypted with the current key version (pgcrypto,
-- AES-256-CBC + HMAC-SHA256, connectors/crypto.py layout). Readable only by the pipeline role.
select
    patient_key,
    vault.encrypt_text(canonical_identifier) as canonical_identifier_enc,
    vault.encrypt_text(resident_id) as resident_id_enc,
    vault.encrypt_text(mrn) as mrn_enc,
    vault.encrypt_text(family_name) as family_name_enc,
    vault.encrypt_text(given_name) as given_name_enc,
    vault.encrypt_text(birth_date::text) as birth_date_enc,
    vault.encrypt_text(phone) as phone_enc,
    vault.encrypt_text(concat_ws(' ', province, city, street, postal_code)) as address_enc,
    vault.current_key_version() as key_version,
    first_seen_at,
    last_seen_at
from {{ ref('int_patients_unified') }}

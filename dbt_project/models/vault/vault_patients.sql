-- One row per patient: the direct identifiers, encrypted with the current key version (pgcrypto,
-- AES-256-CBC + HMAC-SHA256, connectors/crypto.py layout). Readable only by the pipeline role.
-- Columns and their treatments are declared in _vault__models.yml.
select
    {{ wardflow_columns() }}
from {{ ref('int_patients_unified') }}

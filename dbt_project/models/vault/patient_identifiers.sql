{{ config(
    materialized='incremental', unique_key=['source', 'occurrence', 'id_key'], incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook="{{ wardflow_save_watermarks() }}"
) }}
-- One row per identifier seen on a patient occurrence, as a keyed hash (the identity graph, no plaintext).
-- Incremental: each run adds the occurrences landed since the last one.
select
    source,
    occurrence,
    occurrence::bigint as landing_row_id,
    vault.pseudonym(canonical_system || '|' || upper(value)) as id_key,
    canonical_system,
    rank
from {{ ref('int_patient_identifiers') }}
where occurrence::bigint > case source when 'hl7' then {{ wardflow_since('hl7') }} else {{ wardflow_since('fhir') }} end

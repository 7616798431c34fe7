-- One row per landed FHIR resource with its Bundle.entry JSON decrypted in flight (ephemeral).
select
    r.resource_row_id,
    r.received_at,
    r.resource_type,
    e.entry ->> 'fullUrl' as full_url,
    e.entry -> 'resource' as resource
from {{ source('landing', 'fhir_resources') }} as r
cross join lateral (select {{ decrypt_json('r.payload', 'r.key_version') }} as entry) as e
where r.resource_type in ('Patient', 'Observation', 'Device')

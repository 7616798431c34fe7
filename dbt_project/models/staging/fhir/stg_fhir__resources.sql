-- One row per landed Patient, Observation or Device with its Bundle.entry JSON decrypted in flight
-- (ephemeral). MATERIALIZED: each payload is decrypted once per query.
with decrypted as materialized (
    select
        r.resource_row_id,
        r.received_at,
        r.resource_type,
        {{ decrypt_json('r.payload', 'r.key_version') }} as entry
    from {{ source('landing', 'fhir_resources') }} as r
    where r.resource_type in ('Patient', 'Observation', 'Device')
      -- observations above the watermark only; patients and devices always (observations refer back to them)
      and (r.resource_type <> 'Observation' or r.resource_row_id > {{ wardflow_since('fhir') }})
)
select
    d.resource_row_id,
    d.received_at,
    d.resource_type,
    d.entry ->> 'fullUrl' as full_url,
    d.entry -> 'resource' as resource
from decrypted as d

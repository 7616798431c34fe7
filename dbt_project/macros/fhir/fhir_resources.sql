{#- The landed FHIR resources of one type with their Bundle.entry JSON decrypted in flight, for the ephemeral
    stg_fhir__<type>_resources models. One model per type, because a MATERIALIZED CTE keeps filters out:
    a query that needs the few Patient resources must not decrypt every Observation. MATERIALIZED makes
    PostgreSQL decrypt each payload once per query, not once per reference. `watermarked`: only rows above the
    incremental watermark (wardflow_since), for resources that nothing refers back to. -#}
{% macro fhir_resources(resource_type, watermarked=false) -%}
with decrypted as materialized (
    select
        r.resource_row_id,
        r.received_at,
        {{ decrypt_json('r.payload', 'r.key_version') }} as entry
    from {{ source('landing', 'fhir_resources') }} as r
    where r.resource_type = '{{ resource_type }}'
      and r.resource_row_id <= {{ wardflow_until('fhir') }}
    {%- if watermarked %}
      and r.resource_row_id > {{ wardflow_since('fhir') }}  -- 0 unless an incremental model asks for new rows only
    {%- endif %}
)
select
    d.resource_row_id,
    d.received_at,
    d.entry ->> 'fullUrl' as full_url,
    d.entry -> 'resource' as resource
from decrypted as d
{%- endmacro %}

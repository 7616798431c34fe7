-- One row per FHIR Observation value: the observation itself and each component (blood pressure).
with obs as (
    select * from {{ ref('stg_fhir__observation_resources') }}
)
select
    obs.resource_row_id,
    m.component_index,
    obs.resource ->> 'id' as resource_id,
    obs.resource #>> '{subject,reference}' as subject_reference,
    obs.resource #>> '{device,reference}' as device_reference,
    obs.resource ->> 'status' as status,
    c.coding ->> 'system' as code_system,
    c.coding ->> 'code' as code,
    c.coding ->> 'display' as code_text,
    {{ to_double("m.measure #>> '{valueQuantity,value}'") }} as value_num,
    coalesce(m.measure #>> '{valueQuantity,code}', m.measure #>> '{valueQuantity,unit}') as unit_code,
    coalesce({{ fhir_ts("obs.resource ->> 'effectiveDateTime'") }}, {{ fhir_ts("obs.resource #>> '{effectivePeriod,start}'") }},
             {{ fhir_ts("obs.resource ->> 'issued'") }}) as observed_at,
    obs.resource #>> '{interpretation,0,coding,0,code}' as abnormal_flag
from obs
cross join lateral (
    -- the observation itself and each component (blood pressure), without joining obs to itself
    select 0 as component_index, obs.resource as measure
    union all
    select c.n::int, c.component
    from jsonb_array_elements({{ json_array("obs.resource -> 'component'") }}) with ordinality as c(component, n)
) as m
cross join lateral (
    select coding from jsonb_array_elements({{ json_array("m.measure #> '{code,coding}'") }}) as coding
    order by (coding ->> 'system' = 'http://loinc.org') desc limit 1
) as c
where m.measure ? 'valueQuantity'

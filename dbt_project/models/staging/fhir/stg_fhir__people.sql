-- One row per name, phone or identifier a FHIR Patient carries for itself or its contacts (next of kin):
-- the "known values" used to scrub that patient's notes.
with patients as (
    select resource_row_id, resource from {{ ref('stg_fhir__patient_resources') }}
),
people as (
    select resource_row_id, resource -> 'name' as names, resource -> 'telecom' as telecom,
           resource -> 'identifier' as identifiers, resource -> 'address' as addresses
    from patients
    union all
    select p.resource_row_id, jsonb_build_array(c -> 'name'), c -> 'telecom', null, jsonb_build_array(c -> 'address')
    from patients as p cross join lateral jsonb_array_elements({{ json_array("p.resource -> 'contact'") }}) as c
)
select resource_row_id, 'NAME' as tag, n ->> 'family' as family,
       coalesce(n #>> '{given,0}', n ->> 'text') as given
from people cross join lateral jsonb_array_elements({{ json_array("names") }}) as n
where jsonb_typeof(n) = 'object'
union all
select resource_row_id, case when t ->> 'system' = 'email' then 'EMAIL' else 'PHONE' end, t ->> 'value', null
from people cross join lateral jsonb_array_elements({{ json_array("telecom") }}) as t
union all
select resource_row_id, 'ADDRESS', l, null
from people cross join lateral jsonb_array_elements({{ json_array("addresses") }}) as a
cross join lateral jsonb_array_elements_text(case when jsonb_typeof(a -> 'line') = 'array' then a -> 'line' else '[]' end) as l
union all
select resource_row_id, 'ID', i ->> 'value', null
from people cross join lateral jsonb_array_elements({{ json_array("identifiers") }}) as i

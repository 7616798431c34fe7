-- One row per FHIR Patient resource version: identifiers and demographics as sent (in flight only).
select
    r.resource_row_id,
    r.resource ->> 'id' as resource_id,
    r.full_url,
    coalesce({{ fhir_ts("r.resource #>> '{meta,lastUpdated}'") }}, r.received_at) as event_at,
    r.resource -> 'identifier' as identifiers,
    coalesce(r.resource #>> '{name,0,family}', r.resource #>> '{name,0,text}') as family_name,
    r.resource #>> '{name,0,given,0}' as given_name,
    {{ fhir_date("r.resource ->> 'birthDate'") }} as birth_date,
    case r.resource ->> 'gender' when 'male' then 'M' when 'female' then 'F' when 'other' then 'O' else 'U' end as sex,
    r.resource #>> '{address,0,line,0}' as street,
    r.resource #>> '{address,0,city}' as city,
    r.resource #>> '{address,0,state}' as province,
    r.resource #>> '{address,0,postalCode}' as postal_code,
    r.resource #>> '{address,0,country}' as country,
    (select t ->> 'value' from jsonb_array_elements({{ json_array("r.resource -> 'telecom'") }}) as t
      where t ->> 'system' = 'phone' limit 1) as phone
from {{ ref('stg_fhir__patient_resources') }} as r

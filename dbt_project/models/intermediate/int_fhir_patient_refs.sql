-- Every way a FHIR resource may point at a landed Patient: its fullUrl (urn:uuid:…) or Patient/<id>,
-- mapped to the patient occurrence (latest version wins).
select distinct on (ref) ref, occurrence
from (
    select full_url as ref, resource_row_id::text as occurrence, event_at from {{ ref('stg_fhir__patients') }}
    where full_url is not null
    union all
    select 'Patient/' || resource_id, resource_row_id::text, event_at from {{ ref('stg_fhir__patients') }}
    where resource_id is not null
) as r
order by ref, event_at desc

-- One row per FHIR Device resource: identity as sent (serials are identifiers; in flight only).
select
    r.resource_row_id,
    r.resource ->> 'id' as resource_id,
    r.full_url,
    coalesce(r.resource #>> '{serialNumber}', r.resource #>> '{identifier,0,value}', r.resource #>> '{udiCarrier,0,deviceIdentifier}') as device_identifier,
    coalesce(r.resource #>> '{type,coding,0,display}', r.resource #>> '{type,text}') as device_kind,
    r.resource ->> 'manufacturer' as manufacturer,
    coalesce(r.resource ->> 'modelNumber', r.resource #>> '{deviceName,0,name}') as model
from {{ ref('stg_fhir__device_resources') }} as r

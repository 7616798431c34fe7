-- One row per device identity seen in new landing rows: the EUI-64 in OBX-18 of HL7 results and alarms
-- (rows above the watermark) and the serial of every FHIR Device resource (observations refer to those).
-- Read from the message segments and the few Device resources, not from the observations: vault_devices
-- then needs no second pass over every reading. The model (manufacturer and model name, never the serial)
-- comes from the MDS's MDC_ATTR_ID_MODEL OBX of HL7 results and from Device.manufacturer/modelNumber.
with seen as (
    select 'eui64|' || upper({{ hl7('s.seg', 18, 1) }}) as device_identifier, 'hl7' as source,
           s.message_id as landing_row_id,
           case when {{ hl7('s.seg', 3, 2) }} = 'MDC_ATTR_ID_MODEL'
                then nullif(concat_ws(' ', {{ hl7('s.seg', 5, 1) }}, {{ hl7('s.seg', 5, 2) }}), '') end as device_model
    from {{ ref('stg_hl7__segments') }} as s
    where s.message_type = 'ORU' and s.segment_id = 'OBX' and {{ hl7('s.seg', 18, 1) }} is not null
    union all
    select 'serial|' || upper(d.device_identifier), 'fhir', d.resource_row_id,
           nullif(concat_ws(' ', d.manufacturer, d.model), '')
    from {{ ref('stg_fhir__devices') }} as d
    where d.device_identifier is not null
),
identities as (
    select
        device_identifier,
        max(landing_row_id) filter (where source = 'hl7') as last_hl7_row_id,
        max(landing_row_id) filter (where source = 'fhir') as last_fhir_row_id,
        (array_agg(device_model order by landing_row_id desc) filter (where device_model is not null))[1]
            as device_model
    from seen
    group by device_identifier
)
select
    vault.pseudonym('device|' || device_identifier) as device_key,
    device_identifier,
    last_hl7_row_id,
    last_fhir_row_id,
    device_model
from identities

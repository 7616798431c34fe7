{{ config(
    materialized='incremental', unique_key=['source', 'landing_row_id', 'field'],
    incremental_strategy='delete+insert', on_schema_change='fail',
    pre_hook="{{ wardflow_watermarks() }}",
    post_hook=["{{ wardflow_save_watermarks() }}"]
) }}
-- One row per landed message or resource × field that held a value the total casts of staging turned into null
-- (a day that does not exist, hour 24, an offset beyond ±14:59, a number beyond double precision, text where a
-- number belongs): the data-quality finding DESIGN decision 12 promises beside each null. Names the field and the
-- rule, never the value. Incremental: only landing rows above the watermark are read.
with messages as (
    {{ hl7_messages(['ORU', 'ADT', 'ORM', 'OML']) }}
),
segments as materialized (
    {{ hl7_segment_rows('messages', ['MSH', 'PID', 'PV1', 'OBR', 'OBX', 'ORC']) }}
),
hl7_rows as (
    select s.message_id, f.field, f.kind
    from segments as s
    cross join lateral (
        select * from (values
            ('MSH-7', {{ hl7('s.seg', 7) }}, 'ts', s.segment_id = 'MSH'),
            ('PID-7', {{ hl7('s.seg', 7) }}, 'date', s.segment_id = 'PID'),
            ('PV1-44', {{ hl7('s.seg', 44) }}, 'ts', s.segment_id = 'PV1'),
            ('PV1-45', {{ hl7('s.seg', 45) }}, 'ts', s.segment_id = 'PV1'),
            ('OBR-7', {{ hl7('s.seg', 7) }}, 'ts', s.segment_id = 'OBR'),
            ('OBX-14', {{ hl7('s.seg', 14) }}, 'ts', s.segment_id = 'OBX'),
            ('OBX-5', {{ hl7('s.seg', 5) }}, 'num', s.segment_id = 'OBX' and {{ hl7('s.seg', 2) }} in ('NM', 'SN')),
            ('ORC-9', {{ hl7('s.seg', 9) }}, 'ts', s.segment_id = 'ORC')
        ) as v (field, raw, kind, applies)
        where v.applies and v.raw is not null
    ) as f (field, raw, kind, applies)
    where case f.kind when 'ts' then {{ hl7_ts('f.raw') }} is null
                      when 'date' then {{ hl7_date('f.raw') }} is null
                      else {{ hl7_num('f.raw') }} is null end
),
fhir as (
    select r.resource_row_id, r.resource_type, {{ decrypt_json('r.payload', 'r.key_version') }} -> 'resource' as resource
    from {{ source('landing', 'fhir_resources') }} as r
    where r.resource_type in ('Observation', 'Patient')
      and r.resource_row_id > {{ wardflow_since('fhir') }} and r.resource_row_id <= {{ wardflow_until('fhir') }}
),
fhir_rows as (
    select f.resource_row_id, v.field, v.kind
    from fhir as f
    cross join lateral (values
        ('Observation.effectiveDateTime', f.resource ->> 'effectiveDateTime', 'ts'),
        ('Observation.effectivePeriod.start', f.resource #>> '{effectivePeriod,start}', 'ts'),
        ('Observation.issued', f.resource ->> 'issued', 'ts'),
        ('Observation.valueQuantity.value', f.resource #>> '{valueQuantity,value}', 'num'),
        ('Patient.birthDate', f.resource ->> 'birthDate', 'date'),
        ('Resource.meta.lastUpdated', f.resource #>> '{meta,lastUpdated}', 'ts')
    ) as v (field, raw, kind)
    where v.raw is not null and v.raw <> ''
      and split_part(v.field, '.', 1) in (f.resource_type, 'Resource')
      and case v.kind when 'ts' then {{ fhir_ts('v.raw') }} is null
                      when 'date' then {{ fhir_date('v.raw') }} is null
                      else {{ to_double('v.raw') }} is null end
    union all
    select f.resource_row_id, 'Observation.component.valueQuantity.value', 'num'
    from fhir as f
    cross join lateral jsonb_array_elements({{ json_array("f.resource -> 'component'") }}) as c (component)
    where f.resource_type = 'Observation'
      and coalesce(c.component #>> '{valueQuantity,value}', '') <> ''
      and {{ to_double("c.component #>> '{valueQuantity,value}'") }} is null
)
select 'hl7' as source, message_id as landing_row_id, field,
       case min(kind) when 'ts' then 'not a valid date/time with a real day (HL7 DTM)'
                      when 'date' then 'not a real calendar day (HL7 DT)'
                      else 'not a finite number' end as rule,
       count(*) as occurrences,
       now() as found_at
from hl7_rows
group by message_id, field
union all
select 'fhir', resource_row_id, field,
       case min(kind) when 'ts' then 'not a valid FHIR dateTime/instant with a real day'
                      when 'date' then 'not a real calendar day (FHIR date)'
                      else 'not a finite number' end,
       count(*),
       now()
from fhir_rows
group by resource_row_id, field

-- One row per identifier seen on a patient occurrence (an HL7 PID or MRG, a FHIR Patient), with its
-- canonical system from the identifier_systems seed, so HL7 PID-3 and FHIR Patient.identifier agree.
with hl7_cx as (
    select 'hl7' as source, p.message_id::text as occurrence, r.rep
    from {{ ref('stg_hl7__patients') }} as p
    cross join lateral jsonb_array_elements(coalesce(p.identifiers, '[]')) as r(rep)
    union all
    -- ADT^A40 merges: the prior identifier (MRG-1) belongs to the surviving patient of the same message
    select 'hl7', s.message_id::text, r.rep
    from {{ ref('stg_hl7__person_segments') }} as s
    cross join lateral jsonb_array_elements(coalesce(s.seg -> 1, '[]')) as r(rep)
    where s.segment_id = 'MRG'
),
raw as (
    select source, occurrence, nullif(trim(rep -> 0 ->> 0), '') as value,
           nullif(rep -> 3 -> 0 ->> 0, '') as authority, nullif(rep -> 3 -> 1 ->> 0, '') as authority_oid,
           nullif(rep -> 4 -> 0 ->> 0, '') as id_type, null::text as fhir_system
    from hl7_cx
    union all
    select 'fhir', p.resource_row_id::text, nullif(trim(i ->> 'value'), ''), null, null,
           i #>> '{type,coding,0,code}', i ->> 'system'
    from {{ ref('stg_fhir__patients') }} as p
    cross join lateral jsonb_array_elements({{ json_array('p.identifiers') }}) as i
),
systems as (select * from {{ ref('identifier_systems') }})
select
    raw.source,
    raw.occurrence,
    raw.value,
    coalesce(by_oid.canonical_system, by_fhir.canonical_system, by_authority.canonical_system, by_type.canonical_system,
             lower(coalesce(raw.authority_oid, raw.fhir_system, raw.authority, raw.id_type, 'unknown'))) as canonical_system,
    coalesce(by_oid.rank, by_fhir.rank, by_authority.rank, by_type.rank, 9) as rank
from raw
left join systems as by_oid on by_oid.match_kind = 'hl7_authority_oid' and by_oid.match_value = raw.authority_oid
left join systems as by_fhir on by_fhir.match_kind = 'fhir_system' and by_fhir.match_value = raw.fhir_system
left join systems as by_authority on by_authority.match_kind = 'hl7_authority' and by_authority.match_value = raw.authority
left join systems as by_type on by_type.match_kind = 'hl7_type' and by_type.match_value = raw.id_type
where raw.value is not null

-- One row per patient (pseudonym key): the latest known value of each attribute over HL7 and FHIR.
with occurrences as (
    select 'hl7' as source, message_id::text as occurrence, event_at, family_name, given_name, birth_date, sex,
           street, city, province, postal_code, country, phone
    from {{ ref('stg_hl7__patients') }}
    union all
    select 'fhir', resource_row_id::text, event_at, family_name, given_name, birth_date, sex,
           street, city, province, postal_code, country, phone
    from {{ ref('stg_fhir__patients') }}
),
resolved as (
    select r.patient_key, o.*
    from occurrences as o join {{ ref('int_patient_occurrences_resolved') }} as r using (source, occurrence)
),
identifiers as (
    select r.patient_key,
           max(i.value) filter (where i.canonical_system = 'cn-resident-id') as resident_id,
           max(i.value) filter (where i.canonical_system = 'his-mrn') as mrn,
           max(i.canonical_system || '|' || upper(i.value))
               filter (where vault.pseudonym(i.canonical_system || '|' || upper(i.value)) = r.patient_key)
               as canonical_identifier
    from {{ ref('int_patient_identifiers') }} as i
    join {{ ref('int_patient_occurrences_resolved') }} as r using (source, occurrence)
    group by 1
)
select
    resolved.patient_key,
    min(identifiers.canonical_identifier) as canonical_identifier,
    min(identifiers.resident_id) as resident_id,
    min(identifiers.mrn) as mrn,
    {%- for col in ["family_name", "given_name", "birth_date", "sex", "street", "city", "province", "postal_code",
                    "country", "phone"] %}
    (array_agg(resolved.{{ col }} order by resolved.event_at desc) filter (where resolved.{{ col }} is not null))[1] as {{ col }},
    {%- endfor %}
    max(resolved.occurrence::bigint) filter (where resolved.source = 'hl7') as last_hl7_message_id,
    max(resolved.occurrence::bigint) filter (where resolved.source = 'fhir') as last_fhir_row_id,
    min(resolved.event_at) as first_seen_at,
    max(resolved.event_at) as last_seen_at,
    count(*) as occurrences
from resolved
left join identifiers using (patient_key)
group by 1

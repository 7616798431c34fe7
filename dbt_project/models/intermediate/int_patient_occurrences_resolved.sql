-- One row per patient occurrence with the canonical identifier it resolves to: the best-ranked identifier
-- reachable in one hop (an MRN seen beside a resident ID anywhere resolves to that resident ID).
with ids as (
    select source, occurrence, canonical_system || '|' || upper(value) as identifier,
           lpad(rank::text, 2, '0') || canonical_system || '|' || upper(value) as ranked
    from {{ ref('int_patient_identifiers') }}
),
occurrence_best as (
    select source, occurrence, min(ranked) as ranked from ids group by 1, 2
),
identifier_best as (
    select ids.identifier, min(ob.ranked) as ranked
    from ids join occurrence_best as ob using (source, occurrence)
    group by 1
)
select
    ids.source,
    ids.occurrence,
    substr(min(ib.ranked), 3) as canonical_identifier,
    vault.pseudonym(substr(min(ib.ranked), 3)) as patient_key
from ids join identifier_best as ib using (identifier)
group by 1, 2

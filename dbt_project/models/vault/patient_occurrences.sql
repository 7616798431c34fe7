-- One row per patient occurrence (an HL7 PID/MRG, a FHIR Patient) with the patient key it resolves to:
-- the best-ranked identifier reachable in one hop over the whole identity graph (an MRN seen beside a
-- resident ID anywhere, or merged into one by ADT^A40, resolves to that resident ID). Rebuilt every run
-- from hashes only, so a merge re-points history.
with ids as (
    select source, occurrence, id_key, lpad(rank::text, 2, '0') || id_key as ranked
    from {{ ref('patient_identifiers') }}
),
occurrence_best as (
    select source, occurrence, min(ranked) as ranked from ids group by 1, 2
),
identifier_best as (
    select ids.id_key, min(ob.ranked) as ranked
    from ids join occurrence_best as ob using (source, occurrence)
    group by 1
)
select ids.source, ids.occurrence, substr(min(ib.ranked), 3) as patient_key
from ids join identifier_best as ib using (id_key)
group by 1, 2

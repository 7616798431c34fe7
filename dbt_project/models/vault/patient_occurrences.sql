{{ config(indexes=[{'columns': ['source', 'occurrence'], 'unique': true}]) }}
-- One row per patient occurrence (an HL7 PID/MRG, a FHIR Patient) with the patient key it resolves to:
-- the best-ranked identifier reachable in one hop over the whole identity graph (an MRN seen beside a
-- resident ID anywhere, or merged into one by ADT^A40, resolves to that resident ID). Rebuilt every run
-- from hashes only, so a merge re-points history. Indexed on the occurrence: every fact model joins it
-- by occurrence, and a nested loop over a mis-estimated number of new rows must not scan it each time.
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
),
resolved as (
    select ids.source, ids.occurrence, substr(min(ib.ranked), 3) as patient_key
    from ids join identifier_best as ib using (id_key)
    group by 1, 2
)
{#- repointed_at: when the occurrence last moved to another patient key (an ADT^A40 merge, a new identifier
    seen beside it), kept from the previous build; null if it never moved. Fact models re-point only what
    moved since their own last build (wardflow_repoint_patients); new occurrences need nothing, their facts
    are inserted with the current key. -#}
{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none %}
{%- set carried = previous is not none
      and 'repointed_at' in (adapter.get_columns_in_relation(previous) | map(attribute='name') | list) %}
select
    r.source,
    r.occurrence,
    r.patient_key,
    {%- if previous is not none %}
    case when old.patient_key <> r.patient_key then now()
         else {{ 'old.repointed_at' if carried else 'null::timestamptz' }} end as repointed_at
    {%- else %}
    null::timestamptz as repointed_at
    {%- endif %}
from resolved as r
{% if previous is not none %}left join {{ this }} as old using (source, occurrence){% endif %}

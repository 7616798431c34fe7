-- One row per FHIR Observation note (Annotation.text), with the observation's subject and time.
with obs as (
    select * from {{ ref('stg_fhir__observation_resources') }}
)
select
    obs.resource_row_id,
    n.n::int as note_index,
    obs.resource #>> '{subject,reference}' as subject_reference,
    n.note ->> 'text' as note_text,
    coalesce({{ fhir_ts("obs.resource ->> 'effectiveDateTime'") }}, {{ fhir_ts("n.note ->> 'time'") }}) as observed_at
from obs
cross join lateral jsonb_array_elements({{ json_array("obs.resource -> 'note'") }}) with ordinality as n(note, n)
where nullif(n.note ->> 'text', '') is not null

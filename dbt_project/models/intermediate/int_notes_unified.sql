-- One row per free-text note (HL7 NTE and text OBX, FHIR Observation.note) with its patient key and the
-- text as sent (decrypted in flight; vault.vault_texts stores it encrypted for the scrubber asset).
with notes as (
    select 'hl7:' || message_id || ':' || seg_index as note_key, 'hl7' as source, message_id::text as occurrence,
           note_source, note_text, observed_at
    from {{ ref('stg_hl7__notes') }}
    union all
    select 'fhir:' || n.resource_row_id || ':' || n.note_index, 'fhir', refs.occurrence, 'fhir_note', n.note_text,
           n.observed_at
    from {{ ref('stg_fhir__notes') }} as n
    left join {{ ref('int_fhir_patient_refs') }} as refs on refs.ref = {{ fhir_local_ref('n.subject_reference', 'Patient') }}
)
select
    notes.note_key,
    notes.source,
    split_part(notes.note_key, ':', 2)::bigint as landing_row_id,
    notes.source || ':' || notes.occurrence as patient_occurrence,
    notes.note_source,
    r.patient_key,
    notes.note_text,
    notes.observed_at
from notes
join {{ ref('int_patient_occurrences_resolved') }} as r using (source, occurrence)
where nullif(trim(notes.note_text), '') is not null

-- The persisted identity resolution (vault.patient_occurrences), for the intermediate models.
select source, occurrence, patient_key from {{ ref('patient_occurrences') }}

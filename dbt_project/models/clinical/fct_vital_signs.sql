-- One row per vital-sign measurement (HL7 OBX or FHIR Observation value), keyed by pseudonyms, with
-- true times (shifted only in analytics) and the patient's age at the event computed in flight.
-- Columns and their treatments are declared in _clinical__models.yml.
select
    {{ wardflow_columns() }}
from {{ ref('int_vital_signs_unified') }} as o
left join {{ ref('int_patients_unified') }} as p using (patient_key)
where o.patient_key is not null

-- One row per patient, pseudonymized: generalized demographics, display masks and the patient's date
-- shift. Columns and their treatments are declared in _clinical__models.yml.
select
    {{ wardflow_columns() }}
from {{ ref('int_patients_unified') }}

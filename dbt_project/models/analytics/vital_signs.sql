-- One row per vital-sign reading, desensitized for analysts (see _analytics__models.yml for how each
-- column is produced). Patients that fit no k-anonymous group are left out.
select
    {{ wardflow_columns() }}
from {{ ref('fct_vital_signs') }} as f
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
where not k.suppressed

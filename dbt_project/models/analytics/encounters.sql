-- One row per encounter, desensitized: pseudonyms, class, ward and service, shifted times, length of stay.
select
    {{ wardflow_columns() }}
from {{ ref('fct_encounters') }} as e
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
where not k.suppressed

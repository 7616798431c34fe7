-- One row per free-text note, scrubbed at build time (clinical.fct_notes), with its time shifted.
select
    {{ wardflow_columns() }}
from {{ ref('fct_notes') }} as n
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
where not k.suppressed

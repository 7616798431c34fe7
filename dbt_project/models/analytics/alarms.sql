-- One row per device alarm, desensitized: pseudonyms, MDC event, priority and state, shifted time.
select
    {{ wardflow_columns() }}
from {{ ref('fct_alarms') }} as a
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
where not k.suppressed

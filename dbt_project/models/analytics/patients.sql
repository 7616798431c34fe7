-- One row per patient, desensitized: pseudonym and k-anonymous quasi-identifiers.
select
    {{ wardflow_columns() }}
from {{ ref('patient_k_anonymity') }} as k
where not k.suppressed

-- One row per patient with display masks (张*, 138****5678, 110101********123X) for screens that must
-- show whom a row is about without revealing it. Declared separately so a deployment can leave it out.
select
    {{ wardflow_columns() }}
from {{ ref('dim_patients') }} as p
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
where not k.suppressed

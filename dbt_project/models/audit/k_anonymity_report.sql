-- One row per generalization level in use in this build (the suppressed level included): patients there,
-- the smallest published group and the information lost at that level (share of the generalizable
-- quasi-identifiers hidden; 1 for suppressed patients). Counts only, never a value.
select
    {{ var('k_anonymity') }} as k,
    generalization_level,
    bool_and(suppressed) as suppressed,
    count(*) as patients,
    min(class_size) as smallest_class,
    round(max(information_loss)::numeric, 3)::double precision as information_loss,
    now() as built_at
from {{ ref('patient_k_anonymity') }}
group by generalization_level

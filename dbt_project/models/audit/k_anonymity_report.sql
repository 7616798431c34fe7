-- One row per build: how many patients were published at each generalization level and how many were
-- suppressed to keep every published group at k or more (counts only).
select
    max(k) as k,
    count(*) as patients,
    {%- for level in range(6) %}
    count(*) filter (where generalization_level = {{ level }}) as level_{{ level }},
    {%- endfor %}
    count(*) filter (where suppressed) as suppressed,
    now() as built_at
from {{ ref('patient_k_anonymity') }}

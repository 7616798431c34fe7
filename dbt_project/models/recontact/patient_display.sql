-- One row per patient with display masks (张*, 138****5678, 110101********123X) for screens that must
-- show whom a row is about without revealing it: re-contact and care team, purpose-bound. Every patient,
-- suppressed ones included (k-anonymity protects the de-identified release, not this identified view).
select
    {{ wardflow_columns() }}
from {{ ref('dim_patients') }} as p

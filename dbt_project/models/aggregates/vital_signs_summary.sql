-- Aggregate mart: one row per vital sign × sex × age band × province (k-anonymous values). Cells with
-- fewer than var('k_anonymity') patients keep their counts hidden and their statistics null.
with cells as (
    select vital_name, unit, sex, age_band, province,
           count(distinct patient_key) as patients, count(*) as readings,
           avg(value) as mean_value, percentile_cont(0.5) within group (order by value) as median_value,
           min(value) as min_value, max(value) as max_value
    from {{ ref('vital_signs') }}
    where is_plausible
    group by 1, 2, 3, 4, 5
)
select
    vital_name,
    unit,
    sex,
    age_band,
    province,
    patients < {{ var('k_anonymity') }} as suppressed,
    case when patients >= {{ var('k_anonymity') }} then patients end as patients,
    case when patients >= {{ var('k_anonymity') }} then readings end as readings,
    case when patients >= {{ var('k_anonymity') }} then round(mean_value::numeric, 2)::double precision end as mean_value,
    case when patients >= {{ var('k_anonymity') }} then median_value end as median_value,
    case when patients >= {{ var('k_anonymity') }} then min_value end as min_value,
    case when patients >= {{ var('k_anonymity') }} then max_value end as max_value
from cells

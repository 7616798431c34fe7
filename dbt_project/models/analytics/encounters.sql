-- One row per encounter, desensitized: pseudonyms, class, ward, ward group and service, shifted times, length of stay.
select
    {{ wardflow_columns() }}
from {{ ref('fct_encounters') }} as e
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
left join lateral (select {{ wardflow_ward_group('e.point_of_care') }} as ward_group) as wg on true
where not k.suppressed

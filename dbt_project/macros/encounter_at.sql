{#- The encounter a fact belongs to, found on TRUE times (clinical), before any shift: the patient's encounter
    whose admission-discharge window holds `at` (discharge open while the patient is still in; the latest
    admission wins where windows overlap). Joined as `enc` with encounter_key, point_of_care, ward_group and
    admit_at; null when no window holds the time (a wearable at home, an ADT feed that has not arrived yet). -#}
{% macro wardflow_encounter_at(patient_key, at) -%}
left join lateral (
    select e.encounter_key, e.point_of_care, {{ wardflow_ward_group('e.point_of_care') }} as ward_group, e.admit_at
    from {{ ref('fct_encounters') }} as e
    where e.patient_key = {{ patient_key }}
      and e.admit_at <= {{ at }}
      and (e.discharge_at is null or {{ at }} <= e.discharge_at)
    order by e.admit_at desc
    limit 1
) as enc on true
{%- endmacro %}

{#- The unit type of a ward (seed ward_groups: ICU-1 → ICU); a ward the seed does not list falls back to its name
    without a trailing number (ICU-3 → ICU, 5A stays 5A). Null for a null ward. -#}
{% macro wardflow_ward_group(point_of_care) -%}
coalesce((select g.ward_group from {{ ref('ward_groups') }} as g where g.point_of_care = {{ point_of_care }}),
         nullif(regexp_replace({{ point_of_care }}, '[-_ ]*[0-9]+$', ''), ''))
{%- endmacro %}

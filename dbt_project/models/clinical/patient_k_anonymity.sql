-- One row per patient: the quasi-identifiers as they may be published, generalized until every published
-- group holds at least var('k_anonymity') patients over everything an analyst can link by patient_key;
-- patients that fit no group are suppressed (left out of every analytics table).
-- Linkable, and so part of every group: the demographics (sex, age band, province, city), the care context
-- (sets of wards, services and patient classes over the patient's encounters; shown or hidden as a whole),
-- the number of encounters and the sets of vital-sign codes and names. A patient's level is part of the
-- group too (analytics.patients shows it). Shifted times and per-patient device keys are not in the groups:
-- the first are protected by the shift, the second link nothing across patients.
-- Hierarchy, most specific first: each demographic level (sex, age band width, province, city) with the
-- care context shown, then hidden.
{% set demographics = [
    ("sex", 5, true, true),
    ("sex", 10, true, false),
    ("sex", 10, false, false),
    ("sex", 20, false, false),
    ("'*'", 20, false, false),
    ("'*'", none, false, false),
] %}
{% set levels = [] %}
{% for d in demographics %}{% for hide_context in [false, true] %}{% do levels.append(d + (hide_context,)) %}{% endfor %}{% endfor %}
{% set k = var('k_anonymity') %}
with canaries as (
    -- canary patients (orchestration/canaries.py) take every step but this one: never published, never in a group
    select distinct po.patient_key
    from {{ ref('patient_identifiers') }} as pi
    join {{ ref('patient_occurrences') }} as po using (source, occurrence)
    where pi.id_key in (select unnest(c.id_keys) from {{ source('vault', 'canaries') }} as c)
),
encounters as (
    select patient_key, count(*) as encounters,
           string_agg(distinct point_of_care, '|' order by point_of_care) as wards,
           string_agg(distinct hospital_service, '|' order by hospital_service) as services,
           string_agg(distinct patient_class, '|' order by patient_class) as classes
    from {{ ref('fct_encounters') }}
    group by patient_key
),
vitals as (
    select patient_key,
           string_agg(distinct loinc_code, '|' order by loinc_code) as vital_codes,
           string_agg(distinct vital_name, '|' order by vital_name) as vital_names
    from {{ ref('fct_vital_signs') }}
    group by patient_key
),
base as (
    select p.patient_key, p.sex, p.province, p.city, p.age_at_first_contact as age,
           coalesce(e.wards, '') || '#' || coalesce(e.services, '') || '#' || coalesce(e.classes, '') as context,
           coalesce(e.encounters, 0) || '#' || coalesce(v.vital_codes, '') || '#' || coalesce(v.vital_names, '')
               as always_linked
    from {{ ref('dim_patients') }} as p
    left join encounters as e using (patient_key)
    left join vitals as v using (patient_key)
    where p.patient_key not in (select patient_key from canaries)
),
candidates as (
    {%- for sex, width, keep_province, keep_city, hide_context in levels %}
    select patient_key, {{ loop.index0 }} as level, {{ sex }} as sex,
           {{ wardflow_age_band('age', width) if width else "'*'" }} as age_band,
           {{ "coalesce(province, '*')" if keep_province else "'*'" }} as province,
           {{ "coalesce(city, '*')" if keep_city else "'*'" }} as city,
           {{ "'*'" if hide_context else "context" }} as context, always_linked, {{ hide_context }} as context_hidden,
           {#- share of the five generalizable quasi-identifiers lost: sex, age (5-year band 0, 10 1/3, 20 2/3,
               none 1), province, city, care context -#}
           {{ ((0 if sex == "sex" else 1) + {5: 0, 10: 1/3, 20: 2/3}.get(width, 1) + (0 if keep_province else 1)
               + (0 if keep_city else 1) + (1 if hide_context else 0)) / 5 }}::double precision as information_loss
    from base{% if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),
{%- for level in range(levels | length) %}
level_{{ level }} as (
    select patient_key, level, sex, age_band, province, city, context_hidden, information_loss, group_size from (
        select c.*, count(*) over (partition by c.sex, c.age_band, c.province, c.city, c.context, c.always_linked)
                    as group_size
        from candidates as c
        where c.level = {{ level }}
        {%- for earlier in range(level) %}
          and c.patient_key not in (select patient_key from level_{{ earlier }})
        {%- endfor %}
    ) as sized
    where group_size >= {{ k }}
),
{%- endfor %}
published as (
    {%- for level in range(levels | length) %}
    select * from level_{{ level }}{% if not loop.last %} union all{% endif %}
    {%- endfor %}
)
select
    b.patient_key,
    coalesce(p.level, {{ levels | length }}) as generalization_level,
    p.level is null as suppressed,
    p.sex,
    p.age_band,
    nullif(p.province, '*') as province,
    nullif(p.city, '*') as city,
    coalesce(p.context_hidden, true) as context_hidden,
    p.group_size as class_size,
    coalesce(p.information_loss, 1.0) as information_loss,
    {{ k }} as k
from (select patient_key from base union all select patient_key from canaries) as b
left join published as p using (patient_key)

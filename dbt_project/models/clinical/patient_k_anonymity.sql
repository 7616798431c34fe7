-- One row per patient: the quasi-identifiers as they may be published, generalized until every published
-- group holds at least var('k_anonymity') patients; patients that fit no group are suppressed.
-- The generalization hierarchy, most specific first: (sex, age band width, province, city) per level.
{% set levels = [
    ("sex", 5, true, true),
    ("sex", 10, true, false),
    ("sex", 10, false, false),
    ("sex", 20, false, false),
    ("'*'", 20, false, false),
    ("'*'", none, false, false),
] %}
{% set k = var('k_anonymity') %}
with base as (
    select patient_key, sex, province, city, age_at_first_contact as age from {{ ref('dim_patients') }}
),
candidates as (
    {%- for sex, width, keep_province, keep_city in levels %}
    select patient_key, {{ loop.index0 }} as level, {{ sex }} as sex,
           {{ wardflow_age_band('age', width) if width else "'*'" }} as age_band,
           {{ "coalesce(province, '*')" if keep_province else "'*'" }} as province,
           {{ "coalesce(city, '*')" if keep_city else "'*'" }} as city
    from base{% if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),
{%- for level in range(levels | length) %}
level_{{ level }} as (
    select patient_key, level, sex, age_band, province, city from (
        select c.*, count(*) over (partition by c.sex, c.age_band, c.province, c.city) as group_size
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
    {{ k }} as k
from base as b
left join published as p using (patient_key)

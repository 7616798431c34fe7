-- One row per patient: the quasi-identifiers as they may be published, generalized until every published
-- group holds at least var('k_anonymity') patients over everything an analyst can link by patient_key;
-- patients that fit no group are suppressed (left out of every analytics table).
-- Linkable, and so part of every group: the demographics (sex, age band, province, city), the care context
-- (sets of wards, services and patient classes over the patient's stays, the ward-device type
-- combinations next to readings and alarms, and which stays hold readings or alarms; shown, shown with every
-- ward replaced by its group, or hidden, as a whole), the number of encounters (and of those with readings or alarms), whether there are alarms, and the
-- sets of vital-sign codes and names. A patient's level is part of
-- the group too (analytics.patients shows it). Shifted times and per-patient device keys are not in the
-- groups: the first are protected by the shift, the second link nothing across patients.
-- One age-band width for the whole release (issue 14: GROUP BY age_band must never mix 5-, 10- and 20-year
-- bands): the hierarchy below is run once per width, and the width that loses the least information over all
-- patients (suppressed ones count as everything lost) is published; ties go to the narrower band. Within a
-- width a patient's age is its band or '*' (hidden), never another width.
-- Hierarchy, most specific first: sex, age band, province, city, each with the care context shown, then by ward
-- group (the unit type a ward belongs to, seed ward_groups: exact wards hidden, ICU/CCU/GENERAL shown), then hidden.
-- generalization_level = 3 × demographics step + context step (0 shown, 1 ward groups, 2 hidden).
{% set demographics = [
    ("sex", true, true, true),
    ("sex", true, true, false),
    ("sex", true, false, false),
    ("'*'", true, false, false),
    ("'*'", false, false, false),
] %}
{% set levels = [] %}
{% for d in demographics %}{% for context_step in [0, 1, 2] %}{% do levels.append(d + (context_step,)) %}{% endfor %}{% endfor %}
{% set widths = [5, 10, 20] %}
{% set k = var('k_anonymity') %}
with canaries as (
    -- canary patients (orchestration/canaries.py) take every step but this one: never published, never in a group
    select distinct po.patient_key
    from {{ ref('patient_identifiers') }} as pi
    join {{ ref('patient_occurrences') }} as po using (source, occurrence)
    where pi.id_key in (select unnest(c.id_keys) from {{ source('vault', 'canaries') }} as c)
),
grouped_encounters as (
    select e.*, {{ wardflow_ward_group('e.point_of_care') }} as ward_group
    from {{ ref('fct_encounters') }} as e
),
encounters as (
    select patient_key, count(*) as encounters,
           string_agg(distinct point_of_care, '|' order by point_of_care) as wards,
           string_agg(distinct ward_group, '|' order by ward_group) as ward_groups,
           string_agg(distinct hospital_service, '|' order by hospital_service) as services,
           string_agg(distinct patient_class, '|' order by patient_class) as classes
    from grouped_encounters
    group by patient_key
),
fact_rows as (
    -- what vital signs and alarms show next to a patient: the encounter they are attributed to (as analytics
    -- attributes them, on true times) and the device's type (models are published apart, analytics.devices).
    -- Through encounter_key an analyst also sees which of a patient's stays hold readings or alarms.
    select distinct 'vital' as fact, f.patient_key, enc.encounter_key, enc.point_of_care, enc.ward_group, d.device_kind
    from {{ ref('fct_vital_signs') }} as f
    left join {{ ref('dim_devices') }} as d using (device_key)
    {{ wardflow_encounter_at('f.patient_key', 'f.observed_at') }}
    union
    select distinct 'alarm', a.patient_key, enc.encounter_key, enc.point_of_care, enc.ward_group, d.device_kind
    from {{ ref('fct_alarms') }} as a
    left join {{ ref('dim_devices') }} as d on d.device_key = a.device_key
    {{ wardflow_encounter_at('a.patient_key', 'a.alarm_at') }}
),
fact_devices as (
    select patient_key,
           string_agg(distinct concat_ws(':', fact, point_of_care, device_kind), '|'
                      order by concat_ws(':', fact, point_of_care, device_kind)) as devices,
           string_agg(distinct concat_ws(':', fact, ward_group, device_kind), '|'
                      order by concat_ws(':', fact, ward_group, device_kind)) as devices_grouped,
           bool_or(fact = 'alarm') as has_alarms
    from fact_rows
    group by patient_key
),
fact_stays as (
    select s.patient_key,
           string_agg(s.fact || ':' || concat_ws('/', e.point_of_care, e.hospital_service, e.patient_class), '|'
                      order by s.fact || ':' || concat_ws('/', e.point_of_care, e.hospital_service, e.patient_class))
               as stays,
           string_agg(s.fact || ':' || concat_ws('/', e.ward_group, e.hospital_service, e.patient_class), '|'
                      order by s.fact || ':' || concat_ws('/', e.ward_group, e.hospital_service, e.patient_class))
               as stays_grouped,
           count(*) filter (where s.fact = 'vital') || ':' || count(*) filter (where s.fact = 'alarm') as stays_count
    from (select distinct fact, patient_key, encounter_key from fact_rows where encounter_key is not null) as s
    join grouped_encounters as e using (encounter_key)
    group by s.patient_key
),
vitals as (
    select f.patient_key,
           string_agg(distinct f.loinc_code, '|' order by f.loinc_code) as vital_codes,
           string_agg(distinct f.vital_name, '|' order by f.vital_name) as vital_names
    from {{ ref('fct_vital_signs') }} as f
    group by f.patient_key
),
base as (
    select p.patient_key, p.sex, p.province, p.city, p.age_at_first_contact as age,
           coalesce(e.wards, '') || '#' || coalesce(e.services, '') || '#' || coalesce(e.classes, '') || '#'
               || coalesce(fd.devices, '') || '#' || coalesce(fs.stays, '') as context,
           coalesce(e.ward_groups, '') || '#' || coalesce(e.services, '') || '#' || coalesce(e.classes, '') || '#'
               || coalesce(fd.devices_grouped, '') || '#' || coalesce(fs.stays_grouped, '') as context_grouped,
           coalesce(e.encounters, 0) || '#' || coalesce(v.vital_codes, '') || '#' || coalesce(v.vital_names, '')
               || '#' || coalesce(fs.stays_count, '') || '#' || coalesce(fd.has_alarms, false) as always_linked
    from {{ ref('dim_patients') }} as p
    left join encounters as e using (patient_key)
    left join vitals as v using (patient_key)
    left join fact_devices as fd using (patient_key)
    left join fact_stays as fs using (patient_key)
    where p.patient_key not in (select patient_key from canaries)
),
candidates as (
    {%- for width in widths %}{% set outer = loop %}
    {%- for sex, keep_age, keep_province, keep_city, context_step in levels %}
    select patient_key, {{ width }} as width, {{ loop.index0 }} as level, {{ sex }} as sex,
           {{ wardflow_age_band('age', width) if keep_age else "'*'" }} as age_band,
           {{ "coalesce(province, '*')" if keep_province else "'*'" }} as province,
           {{ "coalesce(city, '*')" if keep_city else "'*'" }} as city,
           {{ ["context", "context_grouped", "'*'"][context_step] }} as context, always_linked,
           {{ context_step == 2 }} as context_hidden, {{ context_step >= 1 }} as wards_hidden,
           {#- share of the five generalizable quasi-identifiers lost: sex, age (5-year band 0, 10 1/3, 20 2/3,
               hidden 1), province, city, care context (ward groups 1/2, hidden 1) -#}
           {{ ((0 if sex == "sex" else 1) + ({5: 0, 10: 1/3, 20: 2/3}[width] if keep_age else 1)
               + (0 if keep_province else 1) + (0 if keep_city else 1) + context_step / 2) / 5 }}::double precision
               as information_loss
    from base{% if not (loop.last and outer.last) %}
    union all{% endif %}
    {%- endfor %}
    {%- endfor %}
),
{%- for width in widths %}
{%- for level in range(levels | length) %}
level_{{ width }}_{{ level }} as (
    select patient_key, width, level, sex, age_band, province, city, context_hidden, wards_hidden, information_loss,
           group_size from (
        select c.*, count(*) over (partition by c.sex, c.age_band, c.province, c.city, c.context, c.always_linked)
                    as group_size
        from candidates as c
        where c.width = {{ width }} and c.level = {{ level }}
        {%- for earlier in range(level) %}
          and c.patient_key not in (select patient_key from level_{{ width }}_{{ earlier }})
        {%- endfor %}
    ) as sized
    where group_size >= {{ k }}
),
{%- endfor %}
{%- endfor %}
published_all as (
    {%- for width in widths %}{% set outer = loop %}
    {%- for level in range(levels | length) %}
    select * from level_{{ width }}_{{ level }}{% if not (loop.last and outer.last) %} union all{% endif %}
    {%- endfor %}
    {%- endfor %}
),
release_width as (
    -- the width losing the least over all patients (a suppressed patient loses 1); ties: the narrower band
    select w.width
    from (values {% for width in widths %}({{ width }}){{ ", " if not loop.last }}{% endfor %}) as w(width)
    left join published_all as p using (width)
    group by w.width
    order by sum(p.information_loss) + ((select count(*) from base) - count(p.patient_key)), w.width
    limit 1
),
published as (
    select * from published_all where width = (select width from release_width)
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
    coalesce(p.wards_hidden, true) as wards_hidden,
    p.group_size as class_size,
    coalesce(p.information_loss, 1.0) as information_loss,
    (select width from release_width) as age_band_width,
    {{ k }} as k
from (select patient_key from base union all select patient_key from canaries) as b
left join published as p using (patient_key)

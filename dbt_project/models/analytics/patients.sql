-- One row per patient, desensitized: pseudonym, sex, age band at last contact, province, city, postal prefix.
select
    patient_key,
    sex,
    {{ wardflow_age_band('extract(year from last_seen_at)::int - birth_year') }} as age_band,
    province,
    city,
    postal_code_3
from {{ ref('dim_patients') }}

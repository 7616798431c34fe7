-- One row per patient, pseudonymized: generalized demographics and the patient's date shift.
select
    patient_key,
    coalesce(sex, 'U') as sex,
    extract(year from birth_date)::int as birth_year,
    province,
    city,
    left(postal_code, 3) as postal_code_3,
    vault.date_shift_days(patient_key) as date_shift_days,
    first_seen_at,
    last_seen_at
from {{ ref('int_patients_unified') }}

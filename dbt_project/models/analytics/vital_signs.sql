-- depends_on: {{ ref('patient_occurrences') }}
{{ config(
    materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
    indexes=[{'columns': ['patient_key']}],
    pre_hook="{{ wardflow_release_forget(['sex', 'age_band', 'province', 'city', 'generalization_level'],
                                         stale='point_of_care is not null and ward_group is null') }}",
    post_hook="{{ wardflow_release_save(ref('fct_vital_signs')) }}"
) }}
-- One row per vital-sign reading of a published patient, desensitized for analysts (see
-- _analytics__models.yml for how each column is produced). The encounter, ward and time since admission
-- are found on true times (macros/encounter_at.sql), before the shift. Patients that fit no k-anonymous group are
-- left out. Incremental (macros/release.sql): new readings are appended, patients whose published values
-- changed are rebuilt whole.
select
    {{ wardflow_columns() }}
from {{ ref('fct_vital_signs') }} as f
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
left join {{ ref('dim_devices') }} as d on d.device_key = f.device_key
{{ wardflow_encounter_at('f.patient_key', 'f.observed_at') }}
where not k.suppressed
{{ wardflow_release_new_rows() }}

-- One row per device model that reported readings of published patients: its type and how many such devices
-- there are. Never a serial, an EUI-64, a device key or a patient: which patient used which model is not
-- published (per patient it would be a quasi-identifier finer than the ward), and neither are readings or
-- alarms per model (totals per model could be matched to per-patient counts in vital_signs and alarms).
with published_devices as (
    select distinct f.device_key
    from {{ ref('fct_vital_signs') }} as f
    join {{ ref('patient_k_anonymity') }} as k using (patient_key)
    where not k.suppressed
)
select
    {{ wardflow_columns() }}
from {{ ref('dim_devices') }} as d
join published_devices using (device_key)
where d.device_model is not null
group by d.device_kind, d.device_model

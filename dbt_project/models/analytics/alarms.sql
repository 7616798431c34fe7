-- One row per device alarm, desensitized: pseudonyms, MDC event, priority and state, shifted time, the
-- encounter and ward found on true times (macros/encounter_at.sql); the
-- event text comes scrubbed from clinical.scrubbed_texts (null while withheld or not yet scrubbed).
select
    {{ wardflow_columns() }}
from {{ ref('fct_alarms') }} as a
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
left join {{ ref('dim_devices') }} as d on d.device_key = a.device_key
{{ wardflow_encounter_at('a.patient_key', 'a.alarm_at') }}
left join {{ source('clinical', 'scrubbed_texts') }} as s on s.text_key = 'alarm:' || a.alarm_key
where not k.suppressed

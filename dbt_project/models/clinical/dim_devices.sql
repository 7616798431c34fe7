-- One row per device that reported a vital sign: kind and activity window, no serial.
select
    device_key,
    case when min(device_identifier) like 'eui64|%' then 'bedside_monitor' else 'wearable' end as device_kind,
    min(observed_at) as first_seen_at,
    max(observed_at) as last_seen_at,
    count(*) as observations
from {{ ref('int_vital_signs_unified') }}
where device_key is not null
group by device_key

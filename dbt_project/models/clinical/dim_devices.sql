-- One row per device that reported a vital sign: kind, model and activity window, no serial (from the fact
-- table and the vault's device list, so no landing row is read again).
select
    f.device_key,
    case when bool_or(f.source = 'hl7') then 'bedside_monitor' else 'wearable' end as device_kind,
    max(v.device_model) as device_model,
    min(f.observed_at) as first_seen_at,
    max(f.observed_at) as last_seen_at,
    count(*) as observations
from {{ ref('fct_vital_signs') }} as f
left join {{ ref('vault_devices') }} as v using (device_key)
where f.device_key is not null
group by f.device_key

-- One row per alarm of an IHE PCD-04 ORU^R40 message: each OBR group holds an MDC_EVT_* event OBX and
-- sibling OBX rows for its phase, state, priority and type.
with messages as (
    select * from {{ ref('stg_hl7__alarm_messages') }}
),
segments as (
    select m.message_id, m.message_at, s.seg, s.seg ->> 0 as segment_id,
           count(*) filter (where s.seg ->> 0 = 'OBR') over (partition by m.message_id order by s.n) as alarm_index
    from messages as m
    cross join lateral jsonb_array_elements(m.segments) with ordinality as s(seg, n)
    where s.seg ->> 0 in ('OBR', 'OBX')
),
obx as (
    select message_id, alarm_index, {{ hl7('seg', 3, 1) }} as code, {{ hl7('seg', 3, 2) }} as code_name,
           {{ hl7('seg', 5) }} as value, {{ hl7('seg', 18, 1) }} as device_id
    from segments where segment_id = 'OBX'
),
obr as (
    select message_id, alarm_index, coalesce({{ hl7_ts(hl7('seg', 7)) }}, message_at) as alarm_at
    from segments where segment_id = 'OBR'
)
select
    obr.message_id,
    obr.alarm_index,
    max(obx.code) filter (where obx.code_name like 'MDC_EVT%') as event_code,
    max(obx.code_name) filter (where obx.code_name like 'MDC_EVT%') as event_name,
    max(obx.value) filter (where obx.code_name like 'MDC_EVT%') as event_text,
    max(obx.value) filter (where obx.code_name = 'MDC_ATTR_EVENT_PHASE') as phase,
    max(obx.value) filter (where obx.code_name = 'MDC_ATTR_ALARM_STATE') as state,
    max(obx.value) filter (where obx.code_name = 'MDC_ATTR_ALARM_PRIORITY') as priority,
    max(obx.value) filter (where obx.code_name = 'MDC_ATTR_ALERT_TYPE') as alert_type,
    max(obx.device_id) as device_id,
    obr.alarm_at
from obr
join obx using (message_id, alarm_index)
group by obr.message_id, obr.alarm_index, obr.alarm_at

-- One row per alarm of an IHE PCD-04 ORU^R40 message: each OBR group holds an MDC_EVT_* event OBX and
-- sibling OBX rows for its phase, state, priority and type.
with segments as (
    select s.*,
           count(*) filter (where s.segment_id = 'OBR') over (partition by s.message_id order by s.seg_index) as alarm_index
    from {{ ref('stg_hl7__segments') }} as s
    where s.message_type = 'ORU' and s.trigger_event = 'R40' and s.segment_id in ('OBR', 'OBX')
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

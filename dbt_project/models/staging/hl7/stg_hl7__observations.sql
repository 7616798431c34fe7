-- One row per OBX, with the OBR it belongs to and the message's patient (PID) position.
with obx as (
    select * from {{ ref('stg_hl7__segments') }} where segment_id = 'OBX' and message_type = 'ORU'
),
obr as (
    select message_id, seg_index, seg from {{ ref('stg_hl7__segments') }} where segment_id = 'OBR'
)
select
    obx.message_id,
    obx.seg_index,
    {{ hl7('obx.seg', 1) }} as set_id,
    {{ hl7('obx.seg', 2) }} as value_type,
    {{ hl7('obx.seg', 3, 1) }} as code,
    {{ hl7('obx.seg', 3, 2) }} as code_text,
    {{ hl7('obx.seg', 3, 3) }} as code_system,
    {{ hl7('obx.seg', 4) }} as sub_id,
    {{ hl7('obx.seg', 5) }} as value_text,
    {{ hl7_num(hl7('obx.seg', 5)) }} as value_num,
    {{ hl7('obx.seg', 6, 1) }} as unit_code,
    {{ hl7('obx.seg', 6, 2) }} as unit_text,
    {{ hl7('obx.seg', 7) }} as reference_range,
    {{ hl7('obx.seg', 8) }} as abnormal_flag,
    {{ hl7('obx.seg', 11) }} as result_status,
    coalesce({{ hl7_ts(hl7('obx.seg', 14)) }}, {{ hl7_ts(hl7('obr.seg', 7)) }}, obx.message_at) as observed_at,
    {{ hl7('obx.seg', 18, 1) }} as device_id,
    {{ hl7('obx.seg', 18, 2) }} as device_id_type
from obx
left join lateral (
    select o.seg from obr as o
    where o.message_id = obx.message_id and o.seg_index < obx.seg_index
    order by o.seg_index desc limit 1
) as obr on true

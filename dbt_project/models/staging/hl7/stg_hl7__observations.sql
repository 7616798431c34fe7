-- One row per OBX of an ORU message, with the time of the OBR it follows (the nearest OBR before it).
-- Window functions over each message's segments: no self-join.
with ordered as (
    select
        s.*,
        count(*) filter (where s.segment_id = 'OBR') over (partition by s.message_id order by s.seg_index) as obr_group
    from {{ ref('stg_hl7__segments') }} as s
    where s.message_type = 'ORU' and s.segment_id in ('OBR', 'OBX')
),
with_context as (
    select
        o.*,
        first_value(case when o.segment_id = 'OBR' then {{ hl7('o.seg', 7) }} end)
            over (partition by o.message_id, o.obr_group order by o.seg_index) as obr_time
    from ordered as o
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
    coalesce({{ hl7_ts(hl7('obx.seg', 14)) }}, {{ hl7_ts('obx.obr_time') }}, obx.message_at) as observed_at,
    {{ hl7('obx.seg', 18, 1) }} as device_id,
    {{ hl7('obx.seg', 18, 2) }} as device_id_type
from with_context as obx
where obx.segment_id = 'OBX'

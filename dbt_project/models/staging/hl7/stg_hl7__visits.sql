-- One row per PV1 (with its PV2, when sent) of an ADT or ORU message: the visit as the sender described it.
with segments as (
    select * from {{ ref('stg_hl7__person_segments') }} where segment_id in ('PV1', 'PV2')
),
pv2 as (
    select message_id, seg from segments where segment_id = 'PV2'
)
select
    pv1.message_id,
    pv1.message_type,
    pv1.trigger_event,
    pv1.message_at,
    {{ hl7('pv1.seg', 2) }} as patient_class,
    {{ hl7('pv1.seg', 3, 1) }} as point_of_care,
    {{ hl7('pv1.seg', 3, 2) }} as room,
    {{ hl7('pv1.seg', 3, 3) }} as bed,
    {{ hl7('pv1.seg', 4) }} as admission_type,
    {{ hl7('pv1.seg', 10) }} as hospital_service,
    {{ hl7('pv1.seg', 19, 1) }} as visit_number,
    {{ hl7_ts(hl7('pv1.seg', 44)) }} as admit_at,
    {{ hl7_ts(hl7('pv1.seg', 45)) }} as discharge_at,
    {{ hl7('pv2.seg', 3, 1) }} as admit_reason_code,
    {{ hl7('pv2.seg', 3, 2) }} as admit_reason_text
from segments as pv1
left join pv2 using (message_id)
where pv1.segment_id = 'PV1'

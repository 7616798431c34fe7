-- One row per order (ORC with its OBR) of an ORM or OML message, at header level.
with segments as (
    select s.*,
           count(*) filter (where s.segment_id = 'ORC') over (partition by s.message_id order by s.seg_index) as order_index
    from {{ ref('stg_hl7__segments') }} as s
    where s.message_type in ('ORM', 'OML') and s.segment_id in ('ORC', 'OBR')
)
select
    orc.message_id,
    orc.order_index,
    orc.message_type,
    orc.trigger_event,
    {{ hl7('orc.seg', 1) }} as order_control,
    {{ hl7('orc.seg', 2, 1) }} as placer_order_number,
    {{ hl7('orc.seg', 3, 1) }} as filler_order_number,
    {{ hl7('orc.seg', 5) }} as order_status,
    {{ hl7('obr.seg', 4, 1) }} as service_code,
    {{ hl7('obr.seg', 4, 2) }} as service_text,
    {{ hl7('obr.seg', 4, 3) }} as service_system,
    coalesce({{ hl7_ts(hl7('orc.seg', 9)) }}, {{ hl7_ts(hl7('obr.seg', 6)) }}, orc.message_at) as ordered_at
from segments as orc
left join lateral (
    select o.seg from segments as o
    where o.message_id = orc.message_id and o.segment_id = 'OBR' and o.order_index = orc.order_index
    order by o.seg_index limit 1
) as obr on true
where orc.segment_id = 'ORC'

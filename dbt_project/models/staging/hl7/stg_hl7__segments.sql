-- One row per segment of each message, in order, with the MSH-7 time of its message.
-- (Starts with a WITH clause so that dbt injects upstream CTEs there, not at "with ordinality".)
with messages as (
    select * from {{ ref('stg_hl7__messages') }}
)
select
    m.message_id,
    m.received_at,
    m.message_type,
    m.trigger_event,
    s.seg_index::int as seg_index,
    s.seg ->> 0 as segment_id,
    s.seg,
    m.message_at
from messages as m
cross join lateral jsonb_array_elements(m.segments) with ordinality as s(seg, seg_index)

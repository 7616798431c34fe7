{#- Landed HL7 messages of the given types (and trigger events) with their parsed document decrypted in
    flight, above the incremental watermark, for ephemeral staging models. MATERIALIZED makes PostgreSQL
    decrypt each document once per query, not once per reference; it also keeps outer filters out, so a
    model that needs a few message kinds (alarms) gets its own model with the filter inside. `segment_ids`: see
    hl7_segments. -#}
{% macro hl7_messages(message_types, trigger_events=none, segment_ids=none) -%}
with decrypted as materialized (
    select
        m.message_id,
        m.received_at,
        m.sender,
        m.message_type,
        m.trigger_event,
        m.control_id,
        m.version,
        {{ hl7_segments('m', segment_ids) }} as segments
    from {{ source('landing', 'hl7_messages') }} as m
    where m.message_type in ('{{ message_types | join("', '") }}')
    {%- if trigger_events %}
      and m.trigger_event in ('{{ trigger_events | join("', '") }}')
    {%- endif %}
      and m.message_id > {{ wardflow_since('hl7') }}  -- 0 unless an incremental model asks for new rows only
      and m.message_id <= {{ wardflow_until('hl7') }}
)
select
    d.*,
    {{ hl7_ts(hl7('(d.segments -> 0)', 7)) }} as message_at
from decrypted as d
{%- endmacro %}


{#- One row per segment of each message of `messages` (a CTE with the columns of hl7_messages), in order, with
    the MSH-7 time of its message; with `segment_ids`, only the segments with those ids. -#}
{% macro hl7_segment_rows(messages, segment_ids=none) -%}
select
    m.message_id,
    m.received_at,
    m.message_type,
    m.trigger_event,
    s.seg_index::int as seg_index,
    s.seg ->> 0 as segment_id,
    s.seg,
    m.message_at
from {{ messages }} as m
cross join lateral jsonb_array_elements(m.segments) with ordinality as s(seg, seg_index)
{%- if segment_ids %}
where s.seg ->> 0 in ('{{ segment_ids | join("', '") }}')
{%- endif %}
{%- endmacro %}

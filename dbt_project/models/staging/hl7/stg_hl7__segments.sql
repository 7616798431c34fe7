-- One row per segment of each message, in order, with the MSH-7 time of its message.
-- (Starts with a WITH clause so that dbt injects upstream CTEs there, not at "with ordinality".)
with messages as (
    select * from {{ ref('stg_hl7__messages') }}
)
{{ hl7_segment_rows('messages') }}

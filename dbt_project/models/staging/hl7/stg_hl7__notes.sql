-- One row per free-text item: NTE comments and OBX values of text types (TX, FT, ST), with their time.
with segments as (
    select s.*,
           count(*) filter (where s.segment_id in ('OBR', 'OBX')) over (partition by s.message_id order by s.seg_index) as anchor
    from {{ ref('stg_hl7__segments') }} as s
    where s.segment_id in ('OBR', 'OBX', 'NTE')
)
select
    message_id,
    seg_index,
    segment_id,
    case when segment_id = 'NTE' then 'hl7_nte' else 'hl7_obx_text' end as note_source,
    (select string_agg(c, E'\n' order by n)
       from jsonb_array_elements_text(jsonb_path_query_array(seg -> (case when segment_id = 'NTE' then 3 else 5 end),
                                                             '$[*][*][*]')) with ordinality as t(c, n)) as note_text,
    coalesce({{ hl7_ts(hl7('seg', 14)) }}, message_at) as observed_at
from segments
where segment_id = 'NTE' or (segment_id = 'OBX' and {{ hl7('seg', 2) }} in ('TX', 'FT', 'ST'))

-- One row per PID segment: who the message is about, as sent (plaintext only in flight).
select
    s.message_id,
    s.message_type,
    s.trigger_event,
    coalesce(s.message_at, s.received_at) as event_at,
    s.seg -> 3 as identifiers,
    {{ hl7('s.seg', 5, 1) }} as family_name,
    {{ hl7('s.seg', 5, 2) }} as given_name,
    {{ hl7_date(hl7('s.seg', 7)) }} as birth_date,
    upper({{ hl7('s.seg', 8) }}) as sex,
    {{ hl7('s.seg', 11, 1) }} as street,
    {{ hl7('s.seg', 11, 3) }} as city,
    {{ hl7('s.seg', 11, 4) }} as province,
    {{ hl7('s.seg', 11, 5) }} as postal_code,
    {{ hl7('s.seg', 11, 6) }} as country,
    coalesce({{ hl7('s.seg', 13, 12) }}, {{ hl7('s.seg', 13, 1) }}) as phone
from {{ ref('stg_hl7__person_segments') }} as s
where s.segment_id = 'PID'

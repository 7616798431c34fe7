-- One row per landed HL7 v2 message with its parsed document decrypted in flight (ephemeral: never stored).
select
    m.message_id,
    m.received_at,
    m.sender,
    m.message_type,
    m.trigger_event,
    m.control_id,
    m.version,
    {{ decrypt_json('m.doc', 'm.key_version') }} -> 'segments' as segments
from {{ source('landing', 'hl7_messages') }} as m
where m.message_type in ('ORU', 'ADT')

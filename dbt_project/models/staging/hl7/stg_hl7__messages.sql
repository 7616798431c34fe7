-- One row per landed ORU or ADT message with its parsed document decrypted in flight (ephemeral: never
-- stored). MATERIALIZED makes PostgreSQL decrypt each document once per query, not once per reference.
with decrypted as materialized (
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
    where m.message_type in ('ORU', 'ADT', 'ORM', 'OML')
      and m.message_id > {{ wardflow_since('hl7') }}  -- 0 unless an incremental model asks for new rows only
)
select
    d.*,
    {{ hl7_ts(hl7('(d.segments -> 0)', 7)) }} as message_at
from decrypted as d

-- One row per landed ORU, ADT, ORM or OML message with its parsed document decrypted in flight (ephemeral:
-- never stored).
{{ hl7_messages(['ORU', 'ADT', 'ORM', 'OML']) }}

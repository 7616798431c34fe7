-- One row per landed IHE PCD-04 alarm message (ORU^R40), decrypted in flight: alarms are a small share of
-- the ORU traffic, and this keeps the alarm models from decrypting every vital-signs message.
{{ hl7_messages(['ORU'], trigger_events=['R40']) }}

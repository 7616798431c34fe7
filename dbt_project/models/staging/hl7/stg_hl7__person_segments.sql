-- One row per segment about people and visits (PID, PD1, NK1, GT1, IN1, PV1, PV2, MRG) of each ORU, ADT, ORM
-- or OML message, with the MSH-7 time of its message. Where staging builds a message's document from its payload
-- (most messages), only MSH and these segments are built: the patient, people and visit models do not pay for
-- the observations they never read.
{%- set person_segments = ['PID', 'PD1', 'NK1', 'GT1', 'IN1', 'PV1', 'PV2', 'MRG'] %}
with messages as (
{{ hl7_messages(['ORU', 'ADT', 'ORM', 'OML'], segment_ids=person_segments) }}
)
{{ hl7_segment_rows('messages', segment_ids=person_segments) }}

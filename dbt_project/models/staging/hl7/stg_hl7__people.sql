-- One row per name, phone or identifier of a person other than the patient that a message carries
-- (next of kin NK1, guarantor GT1, insured IN1, doctors in PV1), plus the patient's own PID values:
-- names, phones, e-mails, street addresses and identifiers.
-- Used only to scrub free text: these are the "known values" of a patient's notes.
with segments as (
    select message_id, segment_id, seg from {{ ref('stg_hl7__person_segments') }}
    where segment_id in ('PID', 'NK1', 'GT1', 'IN1', 'PV1')
),
values_seen as (
    -- XPN / XCN names: family (component 1 or 2) and given; XTN phones; CX identifiers
    select message_id, segment_id, 'NAME' as tag, rep -> 0 ->> 0 as family, rep -> 1 ->> 0 as given
    from segments, jsonb_array_elements(case segment_id when 'PID' then seg -> 5 when 'NK1' then seg -> 2
                                          when 'GT1' then seg -> 3 when 'IN1' then seg -> 16 end) as r(rep)
    where segment_id in ('PID', 'NK1', 'GT1', 'IN1')
    union all
    select message_id, segment_id, 'NAME', rep -> 1 ->> 0, rep -> 2 ->> 0
    from segments, jsonb_array_elements(coalesce(seg -> 7, '[]') || coalesce(seg -> 8, '[]') || coalesce(seg -> 9, '[]')
                                        || coalesce(seg -> 17, '[]')) as r(rep)
    where segment_id = 'PV1'
    union all
    select message_id, segment_id, 'PHONE', coalesce(nullif(rep -> 11 ->> 0, ''), rep -> 0 ->> 0), null
    from segments, jsonb_array_elements(case segment_id when 'PID' then coalesce(seg -> 13, '[]') || coalesce(seg -> 14, '[]')
                                          when 'NK1' then coalesce(seg -> 5, '[]') || coalesce(seg -> 6, '[]')
                                          when 'GT1' then coalesce(seg -> 6, '[]') || coalesce(seg -> 7, '[]') end) as r(rep)
    where segment_id in ('PID', 'NK1', 'GT1')
    union all
    select message_id, segment_id, 'EMAIL', rep -> 3 ->> 0, null
    from segments, jsonb_array_elements(case segment_id when 'PID' then coalesce(seg -> 13, '[]') || coalesce(seg -> 14, '[]')
                                          when 'NK1' then coalesce(seg -> 5, '[]') || coalesce(seg -> 6, '[]') end) as r(rep)
    where segment_id in ('PID', 'NK1')
    union all
    select message_id, segment_id, 'ADDRESS', rep -> 0 ->> 0, null
    from segments, jsonb_array_elements(case segment_id when 'PID' then seg -> 11 when 'NK1' then seg -> 4
                                          when 'GT1' then seg -> 5 end) as r(rep)
    where segment_id in ('PID', 'NK1', 'GT1')
    union all
    select message_id, segment_id, 'ID', rep -> 0 ->> 0, null
    from segments, jsonb_array_elements(case segment_id when 'PID' then coalesce(seg -> 3, '[]') || coalesce(seg -> 19, '[]')
                                          when 'IN1' then coalesce(seg -> 36, '[]') || coalesce(seg -> 49, '[]') end) as r(rep)
    where segment_id in ('PID', 'IN1')
)
select
    message_id,
    segment_id,
    tag,
    nullif(trim(family), '') as family,
    nullif(trim(given), '') as given
from values_seen
where nullif(trim(family), '') is not null or nullif(trim(given), '') is not null

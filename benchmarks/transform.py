"""dbt transform (vault → clinical → analytics, tests included) against the in-database limit, in one run.

Data: `connectors.synthetic.generate` for --patients (2,000) over enough days and bedside monitors that the
generator's `summary.observations` (numeric vital-sign values: HL7 ORU OBX of type NM, 9 of the 10 OBX of
each message, plus FHIR wearable Observations) is about --observations (1,000,000) plus the increment.
The last --increment (1 %) of the generated period is held back: HL7 messages (ORU and ADT) whose MSH-7
and FHIR Observations whose effectiveDateTime fall after the cut-off go to a second folder. The second
batch therefore holds new readings of the same patients and devices (and their late ADT events), as a
next ingest would; the generator cannot make the same patients for a later `start` (birth dates, hence
resident IDs, are drawn relative to the start day).

Measured, in this order, each after a checkpoint with autovacuum idle:

  ingest     `ingest_paths` of the main folder (reported only; not part of the targets), then VACUUM
             ANALYZE of the landing tables (not timed)
  full       `dbt build --full-refresh` of the whole project (seeds, every model, every test)
  limit      ONE `CREATE TABLE … AS SELECT` as the pipeline role with its keys (see LIMIT_SQL) over the
             same landing rows: decrypts every ORU/ADT document and every FHIR Patient/Device/Observation
             once (vault.decrypt); extracts OBX and Observation values, codes, units and times with the
             staging expressions (HL7 field access, DTM and number parsing, FHIR reference matching);
             resolves each patient occurrence (HL7 PID, FHIR Patient) to its best-ranked identifier with
             the identifier_systems seed and HMACs it (vault.pseudonym); for each patient takes the latest
             demographics, encrypts canonical identifier, resident ID, MRN, family and given name, birth
             date, phone and address (8 × vault.encrypt_text), applies the three display masks of
             macros/privacy/mask.sql, the generalizations (birth year, age at first contact, 5-year age
             band, postal3) and the keyed date shift (vault.date_shift_days); per observation HMACs the
             device (vault.pseudonym), maps codes and units (vital_sign_codes, unit_map seeds), computes
             plausibility and age at the event, and adds the date shift (the analytics time). One row per
             vital sign is written (the columns of clinical.fct_vital_signs plus the shifted time and the
             generalized sex/age band/province/city); the per-patient ciphertexts are computed inside
             the statement (checked in its plan) but only the observation table is stored.
             Not in the limit: free-text notes (fct_notes, the scrubber asset), k-anonymity levels,
             device tables, the audit models, one-hop identity resolution across occurrences (ADT^A40
             merges), dbt's tests and the dbt process itself. The statement runs without parallel
             workers, as PostgreSQL would plan it anyway: vault.encrypt is VOLATILE and PARALLEL UNSAFE
             (it cannot run inside parallel workers), and the statement calls it. It runs as the pipeline
             role, with that role's settings (jit off, set by `wardflow init`), like the dbt sessions.
  run        `dbt run --full-refresh` (the same models without tests; reported, not a target)
  increment  `ingest_paths` of the held-back folder (reported), then `dbt build` without --full-refresh
             (incremental models merge; table models rebuild)

Targets (the issue): full ≤ 3 × limit; increment (dbt build only) ≤ 15 % of full. A failed step is
reported with the figures measured before it (exit status 1). `--no-parallel` gives the dbt sessions
max_parallel_workers_per_gather=0 (through PGOPTIONS), to compare with parallel plans for the read-only parts.

Creates its own database (127.0.0.1:5432 as postgres if reachable, else the embedded cluster), a temporary
WARDFLOW_HOME and a random master key, and drops them at the end, also on failure. dbt writes its target/
and logs/ to the temporary folder, so a dbt run elsewhere in the checkout is not disturbed. The last line
printed is one JSON object.

    .venv/bin/python benchmarks/transform.py [--small] [--patients 2000] [--observations 1000000]
                                             [--increment 0.01] [--no-parallel] [--embedded]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from _database import bench_database, cpu_model  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
TARGET_FULL_OVER_LIMIT, TARGET_INCREMENT_OVER_FULL = 3.0, 0.15
# Generator yields, measured (seed 7): a wearable is worn by ~40 % of patients and sends 132 Observations a
# day (~53.6 per patient-day); a monitor at the 15-minute default sends ~86 messages × 9 NM OBX a day.
WEARABLE_OBS_PER_PATIENT_DAY, MONITOR_OBS_PER_DAY = 53.6, 777.0
HL7_SHARE = 0.5  # aim at about half of the observations from HL7 monitors, half from FHIR wearables


class BenchError(RuntimeError):
    """A step failed; the message says which and why (no personal data)."""


def quiesce(admin: psycopg.Connection, timeout: float = 180) -> None:
    """Wait until no autovacuum worker runs in this database, then checkpoint (best effort)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = admin.execute("select count(*) from pg_stat_activity where backend_type = 'autovacuum worker' "
                             "and datname = current_database()").fetchone()[0]
        if not busy:
            break
        time.sleep(1)
    try:
        admin.execute("checkpoint")
    except psycopg.Error:
        pass


# -- data -----------------------------------------------------------------------------------------------
@dataclass
class Held:
    """What the held-back (incremental) folder contains, as counts."""

    hl7_messages: int = 0
    hl7_observations: int = 0
    fhir_observations: int = 0

    @property
    def observations(self) -> int:
        return self.hl7_observations + self.fhir_observations


def plan(patients: int, observations: float) -> tuple[int, int]:
    """(days, monitors) so that the generator writes about `observations` numeric values."""
    per_day = patients * WEARABLE_OBS_PER_PATIENT_DAY
    days = max(1, round(observations * (1 - HL7_SHARE) / per_day))
    monitors = max(1, round((observations - days * per_day) / (days * MONITOR_OBS_PER_DAY)))
    return days, monitors


def msh7(message: bytes) -> datetime | None:
    fields = message[:message.find(b"\r")].split(b"|")
    try:
        return datetime.strptime(fields[6].decode()[:19], "%Y%m%d%H%M%S%z")
    except (IndexError, ValueError):
        return None


def is_late(resource: dict, cutoff: datetime) -> bool:
    when = resource.get("effectiveDateTime")
    if resource.get("resourceType") != "Observation" or not when:
        return False
    return datetime.fromisoformat(when) >= cutoff


def hold_back_hl7(out: Path, held: Path, cutoff: datetime, counts: Held) -> None:
    """Messages sent at or after `cutoff` move to the same file name under `held`."""
    from connectors.hl7.split import split_messages

    for path in sorted((out / "hl7").rglob("*.hl7")):
        keep, late = [], []
        for piece in split_messages(path.read_bytes()):
            when = msh7(piece.data) if piece.kind == "message" else None
            (late if when is not None and when >= cutoff else keep).append(piece.data + b"\r\n")
        if not late:
            continue
        path.write_bytes(b"".join(keep))
        target = held / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"".join(late))
        counts.hl7_messages += len(late)
        counts.hl7_observations += sum(1 for m in late for seg in m.split(b"\r")
                                       if seg.startswith(b"OBX|") and seg.split(b"|")[2:3] == [b"NM"])


def hold_back_fhir(out: Path, held: Path, cutoff: datetime, counts: Held) -> None:
    """Observations at or after `cutoff` move out: bundle entries to a bundle of the same name (with the
    same Patient and Device entries, which land as duplicates), NDJSON lines to a new Observation.ndjson."""
    for path in sorted((out / "fhir" / "bundles").glob("*.json")):
        if path.stem[-8:] < f"{cutoff:%Y%m%d}":
            continue
        bundle = orjson.loads(path.read_bytes())
        late = [e for e in bundle["entry"] if is_late(e["resource"], cutoff)]
        if not late:
            continue
        head = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Observation"]
        bundle["entry"] = [e for e in bundle["entry"] if not is_late(e["resource"], cutoff)]
        path.write_bytes(orjson.dumps(bundle))
        target = held / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(orjson.dumps({**bundle, "id": str(uuid.uuid4()), "entry": head + late}))
        counts.fhir_observations += len(late)
    ndjson = out / "fhir" / "ndjson" / "Observation.ndjson"
    if ndjson.exists():
        keep, late = [], []
        for line in ndjson.read_bytes().splitlines():
            if line.strip():
                (late if is_late(orjson.loads(line), cutoff) else keep).append(line + b"\n")
        ndjson.write_bytes(b"".join(keep))
        target = held / ndjson.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"".join(late))
        counts.fhir_observations += len(late)


def make_data(work: Path, args: argparse.Namespace) -> tuple[Path, Path, dict]:
    """Generate, then hold back the tail of the period; returns (main folder, held folder, counts)."""
    from connectors.synthetic import DEFAULT_START, generate

    total = args.observations * (1 + args.increment)
    days, monitors = plan(args.patients, total)
    out, held = work / "data" / "main", work / "data" / "increment"
    started = time.perf_counter()
    summary = generate(out, patients=args.patients, days=days, devices=monitors, seed=args.seed)
    cutoff = DEFAULT_START + timedelta(days=days) * (1 - args.increment / (1 + args.increment))
    counts = Held()
    hold_back_hl7(out, held, cutoff, counts)
    hold_back_fhir(out, held, cutoff, counts)
    info = {"patients": summary.patients, "days": days, "monitors": monitors, "wearables": summary.wearables,
            "seed": args.seed, "generated_observations": summary.observations,
            "generated_hl7_observations": summary.hl7_observations,
            "generated_fhir_observations": summary.fhir_observations,
            "hl7_messages": dict(summary.hl7_messages),
            "main_observations": summary.observations - counts.observations,
            "increment_observations": counts.observations, "increment_hl7_messages": counts.hl7_messages,
            "increment_share": round(counts.observations / max(summary.observations - counts.observations, 1),
                                     4),
            "cutoff": cutoff.isoformat(), "seconds": round(time.perf_counter() - started, 1)}
    return out, held, info


# -- the in-database limit ------------------------------------------------------------------------------
# The same SQL expressions as the dbt macros (macros/hl7/hl7.sql, macros/privacy/*.sql), written out here.
def hl7(seg: str, fld: int, comp: int = 1, rep: int = 1, sub: int = 1) -> str:
    return f"nullif({seg} -> {fld} -> {rep - 1} -> {comp - 1} ->> {sub - 1}, '')"


def hl7_ts(expr: str) -> str:
    return (f"(case when {expr} ~ '^\\d{{8}}' then (to_char(to_timestamp("
            f"rpad(substring({expr} from '^\\d{{8,14}}'),"
            f" 14, '0'), 'YYYYMMDDHH24MISS'), 'YYYY-MM-DD HH24:MI:SS') || coalesce(substring({expr} from "
            f"'[+-]\\d{{4}}$'), '+0800'))::timestamptz end)")


def hl7_num(expr: str) -> str:
    return (f"(case when {expr} ~ '^\\s*[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?\\s*$' "
            f"then trim({expr})::double precision end)")


def fhir_ts(expr: str) -> str:
    return f"(case when {expr} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}' then ({expr})::timestamptz end)"


def fhir_local_ref(expr: str, kind: str) -> str:
    return (f"(case when {expr} ~ '(^|/){kind}/[^/]+(/_history/[^/]+)?$' "
            f"then substring({expr} from '({kind}/[^/]+)(/_history/[^/]+)?$') else {expr} end)")


def mask_name(e: str) -> str:
    return (f"(case when ({e}) is null then null "
            f"else left(({e}), 1) || repeat('*', greatest(char_length({e}) - 1, 1)) end)")


def mask_phone(e: str) -> str:
    d = f"regexp_replace(({e}), '\\D', '', 'g')"
    return f"(case when {d} ~ '^\\d{{7,}}$' then left({d}, 3) || '****' || right({d}, 4) end)"


def mask_resident_id(e: str) -> str:
    return f"(case when char_length({e}) = 18 then left(({e}), 6) || '********' || right(({e}), 4) end)"


def age_band(age: str, width: int = 5, max_age: int = 89) -> str:
    low = f"(({age}) / {width} * {width})"
    return (f"(case when ({age}) is null or ({age}) < 0 then 'unknown' "
            f"when ({age}) > {max_age} then '{max_age + 1}+' "
            f"else {low}::text || '-' || ({low} + {width - 1})::text end)")


PATIENT_ATTRIBUTES = ("family_name", "given_name", "birth_date", "sex", "street", "city", "province",
                      "postal_code", "phone")
LIMIT_TABLE = "bench.transform_limit"
LIMIT_SQL = f"""
create table {LIMIT_TABLE} as
with hl7 as materialized (            -- every ORU and ADT document, decrypted once
    select m.message_id, m.message_type, m.received_at,
           case when m.doc is null then landing.hl7_segments(vault.decrypt(m.payload, m.key_version))
                else convert_from(vault.decrypt(m.doc, m.key_version), 'UTF8')::jsonb -> 'segments' end as segs
    from landing.hl7_messages as m
    where m.message_type in ('ORU', 'ADT')
),
fhir as materialized (                -- every FHIR Patient, Device and Observation entry, decrypted once
    select r.resource_row_id, r.resource_type, r.received_at,
           convert_from(vault.decrypt(r.payload, r.key_version), 'UTF8')::jsonb as entry
    from landing.fhir_resources as r
    where r.resource_type in ('Patient', 'Observation', 'Device')
),
messages as (
    select h.message_id, h.message_type, h.received_at, h.segs,
           (select s from jsonb_array_elements(h.segs) as s where s ->> 0 = 'PID' limit 1) as pid,
           {hl7_ts(hl7("(h.segs -> 0)", 7))} as message_at
    from hl7 as h
),
occurrences as (                      -- one row per patient occurrence: the PID of a message, a FHIR Patient
    select 'hl7' as source, m.message_id as row_id, null::text as full_url, null::text as resource_id,
           m.pid -> 3 as ids, coalesce(m.message_at, m.received_at) as event_at,
           {hl7("m.pid", 5, 1)} as family_name, {hl7("m.pid", 5, 2)} as given_name,
           (case when {hl7("m.pid", 7)} ~ '^\\d{{8}}' then to_date(left({hl7("m.pid", 7)}, 8), 'YYYYMMDD') end) as birth_date,
           upper({hl7("m.pid", 8)}) as sex, {hl7("m.pid", 11, 1)} as street, {hl7("m.pid", 11, 3)} as city,
           {hl7("m.pid", 11, 4)} as province, {hl7("m.pid", 11, 5)} as postal_code,
           coalesce({hl7("m.pid", 13, 12)}, {hl7("m.pid", 13, 1)}) as phone
    from messages as m where m.pid is not null
    union all
    select 'fhir', f.resource_row_id, f.entry ->> 'fullUrl', f.entry #>> '{{resource,id}}', f.entry #> '{{resource,identifier}}',
           coalesce({fhir_ts("f.entry #>> '{resource,meta,lastUpdated}'")}, f.received_at),
           coalesce(f.entry #>> '{{resource,name,0,family}}', f.entry #>> '{{resource,name,0,text}}'),
           f.entry #>> '{{resource,name,0,given,0}}',
           case when f.entry #>> '{{resource,birthDate}}' ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}$' then (f.entry #>> '{{resource,birthDate}}')::date end,
           case f.entry #>> '{{resource,gender}}' when 'male' then 'M' when 'female' then 'F' when 'other' then 'O' else 'U' end,
           f.entry #>> '{{resource,address,0,line,0}}', f.entry #>> '{{resource,address,0,city}}',
           f.entry #>> '{{resource,address,0,state}}', f.entry #>> '{{resource,address,0,postalCode}}',
           (select t ->> 'value' from jsonb_array_elements(coalesce(f.entry #> '{{resource,telecom}}', '[]')) as t
             where t ->> 'system' = 'phone' limit 1)
    from fhir as f where f.resource_type = 'Patient'
),
resolved as (                         -- best-ranked identifier of each occurrence and its keyed pseudonym
    select o.*, b.canonical_identifier, vault.pseudonym(b.canonical_identifier) as patient_key, b.resident_id, b.mrn
    from occurrences as o
    cross join lateral (
        select substr(min(lpad(coalesce(s.rank, 9)::text, 2, '0')
                          || coalesce(s.canonical_system, lower(coalesce(x.system_key, 'unknown'))) || '|' || upper(x.value)), 3)
                   as canonical_identifier,
               max(x.value) filter (where s.canonical_system = 'cn-resident-id') as resident_id,
               max(x.value) filter (where s.canonical_system = 'his-mrn') as mrn
        from (select case when o.source = 'hl7' then nullif(trim(i -> 0 ->> 0), '') else nullif(trim(i ->> 'value'), '') end as value,
                     case when o.source = 'hl7' then i -> 3 -> 1 ->> 0 else i ->> 'system' end as system_key
              from jsonb_array_elements(coalesce(o.ids, '[]')) as i) as x
        left join clinical.identifier_systems as s
          on s.match_kind = case when o.source = 'hl7' then 'hl7_authority_oid' else 'fhir_system' end
         and s.match_value = x.system_key
        where x.value is not null
    ) as b
    where b.canonical_identifier is not null
),
patients as materialized (            -- one row per patient: latest value of each attribute (vault + dim)
    select patient_key, min(canonical_identifier) as canonical_identifier, min(resident_id) as resident_id,
           min(mrn) as mrn,
           {", ".join(f"(array_agg({c} order by event_at desc) filter (where {c} is not null))[1] as {c}"
                      for c in PATIENT_ATTRIBUTES)},
           min(event_at) as first_seen_at, max(event_at) as last_seen_at
    from resolved group by patient_key
),
patient_rows as materialized (        -- vault_patients and dim_patients expressions
    select patient_key,
           vault.encrypt_text(canonical_identifier) as canonical_identifier_enc,
           vault.encrypt_text(resident_id) as resident_id_enc, vault.encrypt_text(mrn) as mrn_enc,
           vault.encrypt_text(family_name) as family_name_enc, vault.encrypt_text(given_name) as given_name_enc,
           vault.encrypt_text(birth_date::text) as birth_date_enc, vault.encrypt_text(phone) as phone_enc,
           vault.encrypt_text(concat_ws(' ', province, city, street, postal_code)) as address_enc,
           vault.current_key_version() as key_version,
           coalesce(sex, 'U') as sex, extract(year from birth_date)::int as birth_year,
           {age_band("extract(year from age(first_seen_at::date, birth_date))::int")} as age_band,
           province, city, left(postal_code, 3) as postal_code_3,
           {mask_name("coalesce(family_name, '') || coalesce(given_name, '')")} as name_masked,
           {mask_phone("phone")} as phone_masked, {mask_resident_id("resident_id")} as resident_id_masked,
           vault.date_shift_days(patient_key) as date_shift_days, birth_date
    from patients
),
patient_refs as (                     -- FHIR fullUrl and Patient/<id> → patient key (latest version wins)
    select distinct on (ref) ref, patient_key from (
        select full_url as ref, patient_key, event_at from resolved where source = 'fhir' and full_url is not null
        union all
        select 'Patient/' || resource_id, patient_key, event_at from resolved where source = 'fhir' and resource_id is not null
    ) as r order by ref, event_at desc
),
device_refs as (                      -- FHIR fullUrl and Device/<id> → serial
    select distinct on (ref) ref, 'serial|' || upper(serial) as device_identifier from (
        select f.entry ->> 'fullUrl' as ref, d.serial from fhir as f
        cross join lateral (select coalesce(f.entry #>> '{{resource,serialNumber}}', f.entry #>> '{{resource,identifier,0,value}}',
                                             f.entry #>> '{{resource,udiCarrier,0,deviceIdentifier}}') as serial) as d
        where f.resource_type = 'Device'
        union all
        select 'Device/' || (f.entry #>> '{{resource,id}}'), coalesce(f.entry #>> '{{resource,serialNumber}}',
               f.entry #>> '{{resource,identifier,0,value}}', f.entry #>> '{{resource,udiCarrier,0,deviceIdentifier}}')
        from fhir as f where f.resource_type = 'Device'
    ) as d where ref is not null and serial is not null order by ref
),
hl7_obs as (                          -- OBX of type NM/SN of every ORU message
    select 'hl7:' || m.message_id || ':' || s.n as observation_key, 'hl7' as source, m.message_id as landing_row_id,
           r.patient_key, {hl7("s.seg", 3, 3)} as code_system, {hl7("s.seg", 3, 1)} as code,
           {hl7_num(hl7("s.seg", 5))} as value_num, {hl7("s.seg", 6, 1)} as unit_code,
           coalesce({hl7_ts(hl7("s.seg", 14))}, m.message_at) as observed_at, {hl7("s.seg", 8)} as abnormal_flag,
           case when {hl7("s.seg", 18, 1)} is not null then 'eui64|' || upper({hl7("s.seg", 18, 1)}) end as device_identifier
    from messages as m
    join resolved as r on r.source = 'hl7' and r.row_id = m.message_id
    cross join lateral jsonb_array_elements(m.segs) with ordinality as s(seg, n)
    where m.message_type = 'ORU' and s.seg ->> 0 = 'OBX' and {hl7("s.seg", 2)} in ('NM', 'SN')
),
fhir_obs as (                         -- every FHIR Observation value (and each component)
    select 'fhir:' || f.resource_row_id || ':' || v.component_index, 'fhir', f.resource_row_id, p.patient_key,
           case when c.coding ->> 'system' = 'http://loinc.org' then 'LN' else c.coding ->> 'system' end,
           c.coding ->> 'code', (v.measure #>> '{{valueQuantity,value}}')::double precision,
           coalesce(v.measure #>> '{{valueQuantity,code}}', v.measure #>> '{{valueQuantity,unit}}'),
           coalesce({fhir_ts("f.entry #>> '{resource,effectiveDateTime}'")}, {fhir_ts("f.entry #>> '{resource,effectivePeriod,start}'")},
                    {fhir_ts("f.entry #>> '{resource,issued}'")}),
           f.entry #>> '{{resource,interpretation,0,coding,0,code}}', d.device_identifier
    from fhir as f
    cross join lateral (
        select 0 as component_index, f.entry -> 'resource' as measure
        union all
        select c.n::int, c.component
        from jsonb_array_elements(coalesce(f.entry #> '{{resource,component}}', '[]')) with ordinality as c(component, n)
    ) as v
    cross join lateral (
        select coding from jsonb_array_elements(coalesce(v.measure #> '{{code,coding}}', '[]')) as coding
        order by (coding ->> 'system' = 'http://loinc.org') desc limit 1
    ) as c
    left join patient_refs as p on p.ref = {fhir_local_ref("f.entry #>> '{resource,subject,reference}'", "Patient")}
    left join device_refs as d on d.ref = {fhir_local_ref("f.entry #>> '{resource,device,reference}'", "Device")}
    where f.resource_type = 'Observation' and v.measure ? 'valueQuantity'
      and coalesce(f.entry #>> '{{resource,status}}', 'final') not in ('entered-in-error', 'cancelled')
)
select
    o.observation_key, o.source, o.patient_key, vault.pseudonym('device|' || o.device_identifier) as device_key,
    codes.loinc_code, codes.vital_name, o.code_system as source_code_system, o.code as source_code, o.value_num,
    coalesce(units.ucum_unit, o.unit_code) as unit, o.observed_at,
    o.observed_at + make_interval(days => p.date_shift_days) as observed_at_shifted,
    nullif(o.abnormal_flag, '') as abnormal_flag,
    (o.value_num between codes.min_plausible and codes.max_plausible) as is_plausible,
    extract(year from age(o.observed_at::date, p.birth_date))::int as age_at_event,
    p.sex, p.age_band, p.province, p.city, o.landing_row_id
from (select * from hl7_obs union all select * from fhir_obs) as o
join clinical.vital_sign_codes as codes on codes.source_system = o.code_system and codes.source_code = o.code
join patient_rows as p using (patient_key)
left join clinical.unit_map as units on units.source_unit = o.unit_code
where o.observed_at is not null and o.value_num is not null
"""


# What the plan must evaluate (SQL functions may be inlined into the pgcrypto calls they make).
LIMIT_PLAN_MUST_SHOW = (("vault.decrypt", "decrypt_iv"), ("vault.encrypt", "encrypt_iv"),
                        ("vault.pseudonym", "pseudonym_key"), ("vault.date_shift_days", "dateshift_key"))


def run_limit(settings, ring) -> dict:
    from orchestration.warehouse.database import connect

    with connect(settings, "pipeline", keyring=ring) as conn:
        conn.execute(f"drop table if exists {LIMIT_TABLE}")
        plan_text = "\n".join(r[0] for r in conn.execute("explain (verbose) " + LIMIT_SQL).fetchall())
        for needed in LIMIT_PLAN_MUST_SHOW:
            if not any(form in plan_text for form in needed):
                (Path(tempfile.gettempdir()) / "transform_limit_plan.txt").write_text(plan_text)
                raise BenchError(f"limit plan does not evaluate {needed[0]} "
                                 f"(plan in {tempfile.gettempdir()}/transform_limit_plan.txt)")
        conn.commit()
        # vault.encrypt is PARALLEL UNSAFE, so PostgreSQL plans this statement serially anyway; said explicitly.
        conn.execute("set local max_parallel_workers_per_gather = 0")
        started = time.perf_counter()
        conn.execute(LIMIT_SQL)
        conn.commit()
        seconds = time.perf_counter() - started
        rows, patients = conn.execute(  # noqa: S608 - constant table name
            f"select count(*), count(distinct patient_key) from {LIMIT_TABLE}").fetchone()
        conn.commit()
    return {"seconds": round(seconds, 2), "rows": rows, "patients": patients}


# -- dbt ------------------------------------------------------------------------------------------------
@dataclass
class DbtFigure:
    command: str
    seconds: float
    nodes: dict[str, int] = field(default_factory=dict)
    node_seconds: dict[str, float] = field(default_factory=dict)
    slowest: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"command": self.command, "seconds": round(self.seconds, 2), "nodes": self.nodes,
                "node_seconds_by_type": self.node_seconds,
                "slowest": [{"node": n, "seconds": s} for n, s in self.slowest]}


def dbt(args: list[str], env: dict[str, str], work: Path) -> DbtFigure:
    """Run one dbt command as a subprocess (as the CLI would), timed; its output goes to a file."""
    executable = Path(sys.executable).with_name("dbt")
    cmd = [str(executable), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
           "--target-path", str(work / "dbt" / "target"), "--log-path", str(work / "dbt" / "logs")]
    log = work / "dbt" / f"{'_'.join(a.strip('-') for a in args)}.out"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("wb") as out:
        rc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                            check=False).returncode
    seconds = time.perf_counter() - started
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise BenchError(f"`dbt {' '.join(args)}` exited with {rc} after {seconds:.1f} s:\n{tail}")
    return summarize(" ".join(["dbt", *args]), seconds, work / "dbt" / "target" / "run_results.json")


def summarize(command: str, seconds: float, run_results: Path) -> DbtFigure:
    results = json.loads(run_results.read_text())["results"]
    figure = DbtFigure(command, seconds)
    timed = []
    for r in results:
        kind = r["unique_id"].split(".")[0]
        figure.nodes[kind] = figure.nodes.get(kind, 0) + 1
        figure.node_seconds[kind] = round(figure.node_seconds.get(kind, 0) + r["execution_time"], 2)
        timed.append((r["unique_id"].split(".", 2)[-1], round(r["execution_time"], 2)))
    figure.slowest = sorted(timed, key=lambda t: -t[1])[:8]
    return figure


# -- report ---------------------------------------------------------------------------------------------
def count_rows(conn: psycopg.Connection) -> dict:
    q = {"landing_hl7_messages": "select count(*) from landing.hl7_messages",
         "landing_fhir_resources": "select count(*) from landing.fhir_resources",
         "landing_fhir_observations":
             "select count(*) from landing.fhir_resources where resource_type = 'Observation'",
         "fct_vital_signs": "select count(*) from clinical.fct_vital_signs",
         "dim_patients": "select count(*) from clinical.dim_patients",
         "fct_notes": "select count(*) from clinical.fct_notes"}
    out = {}
    for name, query in q.items():
        try:
            out[name] = conn.execute(query).fetchone()[0]
        except psycopg.Error:
            conn.rollback()
            out[name] = None
    conn.commit()
    return out


def machine(where: str, admin: psycopg.Connection) -> dict:
    settings = {name: admin.execute(f"show {name}").fetchone()[0] for name in  # noqa: S608 - constant names
                ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit")}
    settings["pipeline_role"] = admin.execute(
        "select coalesce(string_agg(c, ', '), '') from pg_db_role_setting as s "
        "join pg_roles as r on r.oid = s.setrole cross join unnest(s.setconfig) as c "
        "where r.rolname = 'wardflow_pipeline' "
        "and s.setdatabase = (select oid from pg_database where datname = current_database())").fetchone()[0]
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": cpu_model(),
            "nproc": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(), "postgresql": settings.pop("server_version"), "server": where,
            "server_settings": settings, "dbt_threads": _dbt_threads(), **_checkout(),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def _checkout() -> dict:
    """The commit measured and whether dbt_project/ had uncommitted changes (the project is what is timed)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "dbt_project_modified": bool(git("status", "--porcelain", "--", "dbt_project"))}


def _dbt_threads() -> int | None:
    match = re.search(r"^\s*threads:\s*(\d+)", (DBT_DIR / "profiles.yml").read_text(), re.M)
    return int(match.group(1)) if match else None


def report(data: dict, figures: dict, rows: dict, info: dict, error: str | None = None) -> dict:
    """Print the figures measured (all of them, or those before a failure) and return the JSON result."""
    full, limit, run, inc = (figures.get(k) for k in ("full", "limit", "run", "increment"))
    ratios = {"full_over_limit": round(full.seconds / limit["seconds"], 3) if full and limit else None,
              "run_over_limit": round(run.seconds / limit["seconds"], 3) if run and limit else None,
              "increment_over_full": round(inc.seconds / full.seconds, 4) if inc and full else None}
    targets = {"full_le_3x_limit": None if ratios["full_over_limit"] is None
               else ratios["full_over_limit"] <= TARGET_FULL_OVER_LIMIT,
               "increment_le_15pct_of_full": None if ratios["increment_over_full"] is None
               else ratios["increment_over_full"] <= TARGET_INCREMENT_OVER_FULL}
    print()
    for key, label in (("ingest", "ingest (main)"), ("ingest_increment", "ingest (increment)")):
        if key in figures:
            f = figures[key]
            print(f"{label:20s} {f['seconds']:8.1f} s  {f['landed']:,d} landed, "
                  f"{f['duplicates']:,d} duplicates, {f['rejected']:,d} rejected")
    for fig, label in ((full, "dbt build (full)"), (run, "dbt run (full)"), (inc, "dbt build (incr.)")):
        if fig:
            print(f"{label:20s} {fig.seconds:8.1f} s  {fig.nodes}")
    if limit:
        print(f"{'limit (one CTAS)':20s} {limit['seconds']:8.1f} s  {limit['rows']:,d} rows, "
              f"{limit['patients']:,d} patients")
    for name, counted in rows.items():
        print(f"rows after {name}: {counted}")
    print(f"ratios: {ratios}")
    for name, fig in (("full build", full), ("incremental build", inc)):
        if fig:
            print(f"slowest nodes, {name}: " + ", ".join(f"{n} {sec:.1f}s" for n, sec in fig.slowest[:5]))
    print("targets: " + ", ".join(f"{k} {'NOT MEASURED' if v is None else 'met' if v else 'NOT MET'}"
                                  for k, v in targets.items()))
    return {"benchmark": "transform", "machine": info, "data": data, "rows": rows,
            "ingest": figures.get("ingest"), "ingest_increment": figures.get("ingest_increment"),
            "full_build": full and full.as_dict(), "full_run": run and run.as_dict(), "limit": limit,
            "incremental_build": inc and inc.as_dict(), "ratios": ratios,
            "targets": {"full_over_limit_max": TARGET_FULL_OVER_LIMIT,
                        "increment_over_full_max": TARGET_INCREMENT_OVER_FULL, **targets},
            "error": error}


# -- main -----------------------------------------------------------------------------------------------
def ingest(settings, ring, folder: Path) -> dict:
    from connectors.ingest import ingest_paths
    from orchestration.warehouse.database import connect

    with connect(settings, "pipeline") as conn:
        result = ingest_paths([folder], conn, ring).as_dict()
    result.pop("batch_id", None)
    return result


def measure(settings, ring, admin: psycopg.Connection, folders: tuple[Path, Path], work: Path,
            figures: dict, rows: dict, *, parallel: bool) -> None:
    """Fill `figures` and `rows` step by step (what was measured stays there if a step fails)."""
    from orchestration.resources import dbt_environment
    from orchestration.warehouse.database import connect

    env = {**dbt_environment(settings, ring), "DBT_USE_COLORS": "false"}
    if not parallel:
        env["PGOPTIONS"] += " -c max_parallel_workers_per_gather=0"
    print("ingesting the main batch ...", flush=True)
    figures["ingest"] = ingest(settings, ring, folders[0])
    admin.execute("vacuum (analyze) landing.hl7_messages, landing.fhir_resources")
    admin.execute("create schema if not exists bench; "
                  "grant usage, create on schema bench to wardflow_pipeline")
    for name, args in (("full", ["build", "--full-refresh"]), ("limit", None), ("run", ["run", "--full-refresh"])):
        quiesce(admin)
        print(f"measuring {name} ...", flush=True)
        figures[name] = run_limit(settings, ring) if args is None else dbt(args, env, work)
        if name == "full":
            with connect(settings, "pipeline") as conn:
                rows["full"] = count_rows(conn)
    admin.execute(f"drop table if exists {LIMIT_TABLE}")
    print("ingesting the held-back batch ...", flush=True)
    figures["ingest_increment"] = ingest(settings, ring, folders[1])
    quiesce(admin)
    print("measuring the incremental build ...", flush=True)
    figures["increment"] = dbt(["build"], env, work)
    with connect(settings, "pipeline") as conn:
        rows["increment"] = count_rows(conn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--observations", type=int, default=1_000_000, help="numeric values in the main batch")
    parser.add_argument("--increment", type=float, default=0.01, help="held-back share for the incremental run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="quick check: 200 patients, 50,000 observations")
    parser.add_argument("--embedded", action="store_true",
                        help="a private embedded cluster even when 127.0.0.1:5432 answers (roles are cluster-wide: "
                             "use it on a server others are testing on)")
    parser.add_argument("--no-parallel", action="store_true",
                        help="dbt sessions without parallel query (PGOPTIONS max_parallel_workers_per_gather=0)")
    args = parser.parse_args()
    if args.small:
        args.patients, args.observations = 200, 50_000
    with tempfile.TemporaryDirectory(prefix="wardflow-bench-transform-") as tmp:
        work = Path(tmp)
        print(f"generating ~{args.observations:,d} (+{args.increment:.0%}) observations of {args.patients:,d} "
              f"patients under {work} ...", flush=True)
        main_dir, held_dir, data = make_data(work, args)
        print(f"  {data['days']} days, {data['monitors']} monitors, {data['wearables']} wearables: "
              f"{data['main_observations']:,d} + {data['increment_observations']:,d} held back "
              f"({data['seconds']} s)", flush=True)
        with bench_database(work, embedded=args.embedded) as (env, where):
            os.environ.update(env)  # dbt_environment() and the dbt subprocesses read it
            from connectors.crypto import load_keyring
            from connectors.settings import load_settings
            from orchestration.warehouse.database import connect

            settings = load_settings()
            ring = load_keyring(settings)
            figures: dict = {}
            rows: dict = {}
            error = None
            with connect(settings, "admin", autocommit=True) as admin:
                info = {**machine(where, admin), "dbt_parallel_query": not args.no_parallel}
                try:
                    measure(settings, ring, admin, (main_dir, held_dir), work, figures, rows,
                            parallel=not args.no_parallel)
                except BenchError as exc:
                    error = str(exc)
                    print(f"FAILED: {error}", flush=True)
                info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
                result = report(data, figures, rows, info, error)
    print(json.dumps(result))
    if error:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

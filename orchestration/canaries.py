"""Canary patients: synthetic people (generated here, never real) whose identifiers go into landing through
every path that can carry one, so that a leak shows up as a canary value where it must not be.

Every build plants a fresh canary set (the ``vault/canaries`` asset, upstream of the dbt build): sealed in
``vault.canaries`` (values encrypted, identifier keys as pseudonyms: the canaries are marked in the vault
only) and landed as ordinary HL7 and FHIR input: PID (name, alias, resident ID, MRN, phone, e-mail, street),
NK1, GT1, IN1, PV1 doctors, NTE, OBX TX/ST, an IHE PCD-04 ORU^R40 alarm whose event text names the patient,
FHIR Patient (identifier, name, telecom, address, contact), Observation.note and Device serials. Values are
spelled the ways real text spells them (dashes, spaces, dots, fullwidth digits, upper case, the name in
pinyin), including spellings the scrubber is not handed as known values. A set planted by this build goes
through today's scrubber and models, so a regression introduced later is met by new canaries, not only by
texts scrubbed (and checked) before it. The build then carries them like real patients up to clinical;
clinical.patient_k_anonymity suppresses them, so no analytics table holds a canary row.

``find_canaries`` searches the release candidate (clinical) and what is published (analytics, aggregates)
for the values of the newest ``CHECKED_SETS`` sets after normalization (NFKC, case, spaces, dashes, dots,
brackets): the cost stays flat as sets accumulate (older sets were searched by the builds that followed
them; every set's patients stay covered by the check that no canary patient is published). It reports the
relation, column and count only: never a value, also in logs and exceptions.
"""

from __future__ import annotations

import json
import random
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from connectors.crypto import KeyRing
from connectors.ingest import ingest_paths

SEARCHED_SCHEMAS = ("clinical", "analytics", "aggregates")
TEXT_TYPES = ("text", "character varying", "json", "jsonb", "character")
# Removed before comparing: what separates digits and letters in the ways people write them.
SEPARATORS = " \t\r\n-._·()（）/\\\u3000"
RARE_FAMILY = ["公冶", "巫马", "亓官", "第五", "濮阳", "闾丘", "子车", "梁丘"]
RARE_GIVEN = "珂澈砚霁瑾翊昶璟琮琰璠翀燊曦岚"
RESIDENT_OID = "2.16.156.10011.1.3"
CHECKED_SETS = 3  # the newest sets whose values the check searches for (cost: patterns × distinct values)


@dataclass(frozen=True)
class Canary:
    """One canary value: its kind (never logged with it) and the value."""

    kind: str
    value: str


def normalize(text: str) -> str:
    """The form values are compared in: NFKC (fullwidth → ASCII), lower case, separators removed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if ch not in SEPARATORS)


def _resident_id(rng: random.Random) -> str:
    from stdnum.cn import ric

    body = f"110105{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body)


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(RARE_FAMILY), "".join(rng.sample(RARE_GIVEN, 2))


def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text)).replace("ü", "v")


def generate(seed: int | None = None) -> dict[str, str]:
    """A fresh canary set: kind → value (kinds are the paths' names)."""
    rng = random.Random(seed if seed is not None else secrets.randbits(64))  # noqa: S311 - synthetic test values
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    values = {}
    for who in ("patient", "kin", "guarantor", "insured", "doctor", "wearer", "contact"):
        family, given = _name(rng)
        values[f"{who}_family"], values[f"{who}_given"] = family, given
    values.update({
        "patient_id": _resident_id(rng), "wearer_id": _resident_id(rng), "mrn": "MRN" + digits(8),
        "patient_phone": "13" + digits(9), "kin_phone": "15" + digits(9), "contact_phone": "18" + digits(9),
        "email": f"c{digits(6)}.{rng.choice(['li', 'wu', 'he'])}@example.org", "street": f"{_name(rng)[1]}路{rng.randint(10, 99)}号",
        "insurance": "CI" + digits(10), "device_serial": "SN" + digits(8), "wearable_serial": "WR" + digits(8),
        "alias": "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7)).capitalize(),
        "control": "C" + digits(12),
    })
    # the patient's name in pinyin, given name first as in English text ("Kecheng GONGYE")
    values["patient_pinyin"] = f"{_pinyin(values['patient_given']).capitalize()} {_pinyin(values['patient_family']).upper()}"
    return values


def searched_values(values: dict[str, str]) -> list[Canary]:
    """What the check looks for: full names, given names, identifiers, contacts (not the control ids, nor a
    family name alone: two characters that real text holds too)."""
    out = []
    for kind, value in values.items():
        if kind == "control" or kind.endswith("_family"):
            continue
        out.append(Canary(kind, value))
    for who in ("patient", "kin", "guarantor", "insured", "doctor", "wearer", "contact"):
        out.append(Canary(f"{who}_name", values[f"{who}_family"] + values[f"{who}_given"]))
    if "patient_pinyin" in values:  # sets planted before pinyin canaries have none
        out.append(Canary("patient_pinyin", " ".join(reversed(values["patient_pinyin"].split()))))
    return out


def _spaced(phone: str) -> str:
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}"


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _dotted(phone: str) -> str:
    return f"{phone[:3]}.{phone[3:7]}.{phone[7:]}"


def alarm_message(v: dict[str, str], pid: str) -> str:
    """IHE PCD-04 ORU^R40: one alarm whose event text (OBX-5 of the MDC_EVT_ OBX) names the patient in pinyin,
    carries the resident ID in fullwidth digits and the phone with dots, as a nurse's free-text alarm label."""
    c, eui = v["control"], f"02AABBCCDDEEFF7{v['control'][-1]}"
    text = (f"{v['patient_pinyin']} {_fullwidth(v['patient_id'])} 离床报警 call {_dotted(v['patient_phone'])} "
            f"{v['email'].upper()}")
    obx = lambda n, kind, code, sub, value: (  # noqa: E731
        f"OBX|{n}|{kind}|{code}|1.0.0.{sub}|{value}||||||F|||20261101093000+0800|||{eui}^^{eui}^EUI-64")
    return "\r".join([
        f"MSH|^~\\&|MONITOR^{eui}^EUI-64|IHE_AR|WARDFLOW|H1|20261101093000+0800||ORU^R40^ORU_R40|{c}R|P|2.6"
        "|||AL|NE||UNICODE UTF-8",
        pid, "PV1|1|I|ICU^301^1",
        f"OBR|1||{c}R^ALARM^{eui}^EUI-64|196616^MDC_EVT_ALARM^MDC|||20261101093000+0800",
        obx(1, "ST", "196616^MDC_EVT_ALARM^MDC", 1, text),
        obx(2, "ST", "68481^MDC_ATTR_EVENT_PHASE^MDC", 2, "start"),
        obx(3, "ST", "68482^MDC_ATTR_ALARM_STATE^MDC", 3, "active"),
        obx(4, "ST", "68484^MDC_ATTR_ALARM_PRIORITY^MDC", 4, "PH"),
        obx(5, "ST", "68485^MDC_ATTR_ALERT_TYPE^MDC", 5, "SP"),
    ]) + "\r"


def hl7_messages(v: dict[str, str]) -> bytes:
    """ADT^A01 (PID, NK1, PV1 doctors, GT1, IN1), ORU^R01 (NTE, OBX TX and ST, device serial) and ORU^R40."""
    name = f"{v['patient_family']}^{v['patient_given']}~{v['alias']}^{v['alias']}"
    pid = (f"PID|1||{v['mrn']}^^^HIS&1.2.156.112604.1.2.1&ISO^MR~{v['patient_id']}^^^CHN&{RESIDENT_OID}&ISO^NNCHN||"
           f"{name}||19700101|F|||{v['street']}^^杭州市^浙江省^310012^CHN||"
           f"^PRN^CP^^^^^^^^^{v['patient_phone']}~^NET^Internet^{v['email']}")
    doctor = f"D{v['control'][-4:]}^{v['doctor_family']}^{v['doctor_given']}"
    c = v["control"]
    adt = "\r".join([
        f"MSH|^~\\&|HIS|H1|WARDFLOW|H1|20261101080000+0800||ADT^A01^ADT_A01|{c}A|P|2.5|||AL|NE||UNICODE UTF-8",
        "EVN|A01|20261101080000+0800", pid,
        f"NK1|1|{v['kin_family']}^{v['kin_given']}|SPO^配偶|{v['street']}^^杭州市|^PRN^CP^^^^^^^^^{v['kin_phone']}",
        f"PV1|1|I|ICU^301^1||||{doctor}|{doctor}||||||||||V{c}",
        f"GT1|1||{v['guarantor_family']}^{v['guarantor_given']}||{v['street']}^^杭州市|^PRN^PH^^^^^^^^^{v['kin_phone']}",
        f"IN1|1|PLAN1|INS1|某保险公司||||||||||||{v['insured_family']}^{v['insured_given']}|SEL||||||||||||||||||||"
        f"{v['insurance']}",
    ]) + "\r"
    note = (f"患者{v['patient_family']}{v['patient_given']}（身份证{v['patient_id']}）由{v['doctor_family']}"
            f"{v['doctor_given']}查房，家属{v['kin_family']}{v['kin_given']}电话{v['kin_phone'][:3]}-"
            f"{v['kin_phone'][3:7]}-{v['kin_phone'][7:]}，住{v['street']}")
    oru = "\r".join([
        f"MSH|^~\\&|MONITOR^02AABBCCDDEEFF7{c[-1]}^EUI-64|ICU-1|WARDFLOW|H1|20261101090000+0800||ORU^R01^ORU_R01|{c}O|P|2.6"
        "|||AL|NE||UNICODE UTF-8",
        pid, f"PV1|1|I|ICU^301^1||||{doctor}",
        "OBR|1|||182777000^monitoring of patient^SCT|||20261101090000+0800",
        f"NTE|1||{note}",
        "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.1.1|88|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120|N|||R|||"
        f"20261101090000+0800||||{v['device_serial']}^SERIAL",
        f"OBX|2|TX|8251-1^Nursing note^LN|1|{v['patient_family']}{v['patient_given']}诉胸闷，联系电话"
        f"{_spaced(v['patient_phone'])}，邮箱{v['email']}，医保{v['insurance']}||||||F|||20261101090500+0800",
        f"OBX|3|ST|8251-1^Nursing note^LN|2|回电{_fullwidth(v['patient_phone'])}||||||F|||20261101091000+0800",
        f"OBX|4|TX|8251-1^Nursing note^LN|3|{v['patient_pinyin']} asked for {_dotted(v['kin_phone'])}, "
        f"mail {v['email'].upper()}||||||F|||20261101091500+0800",
    ]) + "\r"
    return (adt + "\n" + oru + "\n" + alarm_message(v, pid)).encode()


def fhir_bundle(v: dict[str, str]) -> bytes:
    """Patient (identifier, name, telecom, address, contact), Device serial, Observation with a note."""
    c = v["control"]
    patient_url, device_url = f"urn:uuid:{c[:8]}-0000-4000-8000-{c}", f"urn:uuid:{c[:8]}-1111-4000-8000-{c}"
    wearer = v["wearer_family"] + v["wearer_given"]
    contact = v["contact_family"] + v["contact_given"]
    entries = [
        {"fullUrl": patient_url, "resource": {
            "resourceType": "Patient", "id": f"p{c}",
            "identifier": [{"system": f"urn:oid:{RESIDENT_OID}", "value": v["wearer_id"]}],
            "name": [{"family": v["wearer_family"], "given": [v["wearer_given"]], "text": wearer}],
            "telecom": [{"system": "phone", "value": v["contact_phone"]}], "gender": "male", "birthDate": "1987-11-05",
            "address": [{"line": [v["street"]], "city": "广州市", "state": "广东省", "postalCode": "510620"}],
            "contact": [{"name": {"family": v["contact_family"], "given": [v["contact_given"]], "text": contact},
                         "telecom": [{"system": "phone", "value": v["contact_phone"]}]}]}},
        {"fullUrl": device_url, "resource": {
            "resourceType": "Device", "id": f"d{c}", "serialNumber": v["wearable_serial"],
            "identifier": [{"value": v["wearable_serial"]}]}},
        {"fullUrl": f"urn:uuid:{c[:8]}-2222-4000-8000-{c}", "resource": {
            "resourceType": "Observation", "id": f"o{c}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": patient_url}, "device": {"reference": device_url},
            "effectiveDateTime": "2026-11-01T10:00:00+08:00",
            "valueQuantity": {"value": 77, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
            "note": [{"text": f"{wearer}说手环松了，联系人{contact}{v['contact_phone']}"}]}},
    ]
    bundle = {"resourceType": "Bundle", "id": f"b{c}", "type": "collection", "entry": entries}
    return json.dumps(bundle, ensure_ascii=False).encode()


def load_recent(conn: psycopg.Connection, limit: int = CHECKED_SETS) -> list[dict[str, str]]:
    """The newest ``limit`` canary sets of the database, newest first (a session with keys)."""
    rows = conn.execute("select vault.decrypt_text(doc, key_version) from vault.canaries "
                        "order by planted_at desc limit %s", (limit,)).fetchall()
    return [json.loads(r[0]) for r in rows]


def load(conn: psycopg.Connection) -> dict[str, str] | None:
    """The newest canary set (a session with keys), or None when none was planted."""
    sets = load_recent(conn, 1)
    return sets[0] if sets else None


def plant(conn: psycopg.Connection, ring: KeyRing, seed: int | None = None) -> int:
    """Generate, seal and land a fresh canary set (every build calls this); returns how many rows landed."""
    values = generate(seed)
    ids = [values["patient_id"], values["wearer_id"]]
    conn.execute("""insert into vault.canaries (doc, key_version, id_keys)
                    select vault.encrypt_text(%s), vault.current_key_version(),
                           array(select vault.pseudonym('cn-resident-id|' || upper(i)) from unnest(%s::text[]) as i)""",
                 (json.dumps(values, ensure_ascii=False), ids))
    conn.commit()
    with tempfile.TemporaryDirectory(prefix="wardflow-canary-") as tmp:
        (Path(tmp) / "c.hl7").write_bytes(hl7_messages(values))
        (Path(tmp) / "c.json").write_bytes(fhir_bundle(values))
        report = ingest_paths([Path(tmp)], conn, ring, source_kind="file")
    return report.counts.landed


def _text_columns(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return conn.execute("""select table_schema, table_name, column_name from information_schema.columns
                           where table_schema = any(%s) and data_type = any(%s)
                           order by 1, 2, 3""", (list(SEARCHED_SCHEMAS), list(TEXT_TYPES))).fetchall()


def find_canaries(conn: psycopg.Connection, values: dict[str, str] | list[dict[str, str]]) -> list[dict]:
    """Every (relation, column) of clinical, analytics and aggregates holding a value of the canary set(s),
    normalized, with the number of distinct values and the canary kinds, or that could not be read
    (``error``: fail closed); empty when nothing leaked."""
    sets = [values] if isinstance(values, dict) else values
    canaries = [c for one in sets for c in searched_values(one)]
    patterns = ["%" + normalize(c.value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                for c in canaries]
    found = []
    strip = "[[:space:]" + "".join("\\" + ch if ch in "-\\]^" else ch for ch in SEPARATORS.strip()) + "]"
    for schema, table, column in _text_columns(conn):
        # distinct values first: most columns are codes and keys that repeat
        query = sql.SQL("select p.i, count(*) from (select distinct {c}::text as v from {t}) as d "
                        "cross join unnest({pats}::text[]) with ordinality as p(pat, i) "
                        "where regexp_replace(lower(normalize(d.v, NFKC)), {strip}, '', 'g') like p.pat "
                        "group by p.i").format(c=sql.Identifier(column), t=sql.Identifier(schema, table),
                                               pats=sql.Literal(patterns), strip=sql.Literal(strip))
        try:
            with conn.transaction():  # a savepoint: one unreadable relation does not end the search
                hits = conn.execute(query).fetchall()
        except psycopg.Error as exc:  # fail closed; the class and SQLSTATE only (messages can quote values)
            found.append({"relation": f"{schema}.{table}", "column": column, "values": 0, "kinds": [],
                          "error": f"{type(exc).__name__} {exc.sqlstate or ''}".strip()})
            continue
        if hits:
            found.append({"relation": f"{schema}.{table}", "column": column, "values": int(sum(n for _, n in hits)),
                          "kinds": sorted({canaries[i - 1].kind for i, _ in hits})})
    return found

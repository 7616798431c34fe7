"""Identifiers planted in every HL7 segment and FHIR element that can carry one never reach a role that
should not see them: the analyst and the compliance officer search everything they can read."""

import json

import psycopg
import pytest
from publishing import publish_release
from stdnum.cn import ric

from connectors.ingest import ingest_paths
from orchestration.runner import run_everything
from orchestration.warehouse.database import connect


def resident_id(prefix17: str) -> str:
    return prefix17 + ric.calc_check_digit(prefix17)


PATIENT_ID = resident_id("11010519491231002")  # born 1949-12-31, a woman
WEARER_ID = resident_id("44010619871105003")
PLANTED = {
    "patient family+given": "钱多多",
    "patient alias": "Qian Duoduo",
    "resident id": PATIENT_ID,
    "mrn": "MRN7777777",
    "patient phone": "13987654321",
    "patient email": "plant.leak@example.org",
    "street": "幸福路88号",
    "next of kin": "司马懿",
    "next of kin phone": "13600001111",
    "guarantor": "欧阳锋",
    "insured": "黄药师",
    "insurance number": "CI9988776655",
    "doctor": "华佗",
    "device serial": "SNPLANT0042",
    "wearer": "王二麻子",
    "wearer id": WEARER_ID,
    "wearer phone": "18655554444",
    "wearer contact": "周伯通",
    "wearable serial": "WRPLANT0099",
}

# Free-text plants of every class the scrubber covers, in spellings the structured fields do not use (the
# patient's own values written differently, people and places the vault does not know).
CARD = "6222021001123456789"  # Luhn-valid
PLANTED_TEXT = {
    "patient name, pinyin upper case": "QIAN DUODUO",
    "patient name, pinyin given first": "duoduo qian",
    "patient id with spaces": f"{PATIENT_ID[:6]} {PATIENT_ID[6:10]} {PATIENT_ID[10:14]} {PATIENT_ID[14:]}",
    "patient phone with dots": "139.8765.4321",
    "patient phone in Chinese numerals": "一三九八七六五四三二一",
    "neighbour, no cue list": "闵晓燕",
    "attending physician": "聂海涛",
    "compound surname in an alarm": "欧阳娜娜",
    "landline with a space": "010-8888 6666",
    "landline in parentheses": "(010)8529-3366",
    "bank card, spaced": " ".join(CARD[k:k + 4] for k in range(0, len(CARD), 4)),
    "passport": "E12345678",
    "HK/Macau permit": "C87654321",
    "licence plate": "浙A12345",
    "new-energy plate": "粤BD12345",
    "WeChat id": "qdd_19491231",
    "QQ": "284756193",
    "obfuscated e-mail": "plant.leak(at)example.org",
    "IP address": "192.168.10.23",
    "record number after a filler word": "MZ-2019-00123",
    "street address": "幸福路88号院3号楼2单元402室",
    "workplace": "杭州红星纺织厂",
    "community health centre": "西湖区文新街道社区卫生服务中心",
    "Chinese-numeral date": "二〇二五年二月五日",
    "English date": "Jan 28, 2025",
    "year-month": "2024年3月",
    "holiday": "除夕",
    "age over 89": "九十七岁",
}
T = PLANTED_TEXT
FREE_TEXT_NOTE = (f"患者{T['patient name, pinyin upper case']}（{T['patient name, pinyin given first']}）"
                  f"身份证{T['patient id with spaces']}，手机{T['patient phone with dots']}、"
                  f"{T['patient phone in Chinese numerals']}，邻居{T['neighbour, no cue list']}来访，主治医师"
                  f"{T['attending physician']}查房。家中座机{T['landline with a space']}，单位{T['landline in parentheses']}，"
                  f"银行卡{T['bank card, spaced']}，护照{T['passport']}，港澳通行证{T['HK/Macau permit']}，车牌"
                  f"{T['licence plate']}、{T['new-energy plate']}，微信号{T['WeChat id']}，QQ {T['QQ']}，邮箱"
                  f"{T['obfuscated e-mail']}，IP {T['IP address']}，既往门诊号为{T['record number after a filler word']}。")
FREE_TEXT_NOTE_2 = (f"现住{T['street address']}，退休前就职于{T['workplace']}，在{T['community health centre']}建档；"
                    f"{T['Chinese-numeral date']}入院，{T['year-month']}曾发作，{T['holiday']}加重，"
                    f"母亲{T['age over 89']}。Seen {T['English date']}.")
ALARM_TEXT = f"3床 钱多多 心率过高，{T['compound surname in an alarm']}在旁"


def _alarm_message(pid: str) -> str:
    device = "urn:uuid:f9bd67ba-10f9-11ea-bab1-0050b612afeb^^urn:uuid:f9bd67ba-10f9-11ea-bab1-0050b612afeb^URN"
    return "\r".join([
        "MSH|^~\\&|0000000000000001^EUI-64|IHE_AR|WARDFLOW|H1|20261101091000+0800||ORU^R40^ORU_R40|PLANT-R40-1|P|2.6"
        "|||AL|NE||UNICODE UTF-8",
        pid,
        "PV1||I|ICU^301^1",
        "OBR|1||0^plant-alarm-1^0000000000000001^EUI-64|196616^MDC_EVT_ALARM^MDC|||20261101091000+0800",
        f"OBX|1|ST|196648^MDC_EVT_HI^MDC|1.1.1.1|{ALARM_TEXT}||||||F|||||||{device}",
        f"OBX|2|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.1.1.2|start||||||F|||||||{device}",
        f"OBX|3|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.1.1.3|active||||||F|||||||{device}",
    ]) + "\r"


def _hl7_messages() -> bytes:
    pid = (f"PID|1||MRN7777777^^^HIS&1.2.156.112604.1.2.1&ISO^MR~{PATIENT_ID}^^^CHN&2.16.156.10011.1.3&ISO^NNCHN||"
           "钱^多多~Qian^Duoduo||19491231|F|||幸福路88号^^杭州市^浙江省^310012^CHN||"
           "^PRN^CP^^^^^^^^^13987654321~^NET^Internet^plant.leak@example.org")
    adt = "\r".join([
        "MSH|^~\\&|HIS|H1|WARDFLOW|H1|20261101080000+0800||ADT^A01^ADT_A01|PLANT-ADT-1|P|2.5|||AL|NE||UNICODE UTF-8",
        "EVN|A01|20261101080000+0800",
        pid,
        "NK1|1|司马^懿|SPO^配偶|幸福路88号^^杭州市^浙江省^310012^CHN|^PRN^CP^^^^^^^^^13600001111",
        "PV1|1|I|ICU^301^1||||D900^华^佗|||||||||||V123",
        "GT1|1||欧阳^锋||幸福路88号^^杭州市|^PRN^PH^^^^^^^^^13600001111",
        "IN1|1|PLAN1|INS1|某保险公司||||||||||||黄^药师|SEL||||||||||||||||||||CI9988776655",
    ]) + "\r"
    oru = "\r".join([
        "MSH|^~\\&|MONITOR^02AABBCCDDEEFF01^EUI-64|ICU-1|WARDFLOW|H1|20261101090000+0800||ORU^R01^ORU_R01|PLANT-ORU-1|P|2.6|||AL|NE||UNICODE UTF-8",
        pid,
        "PV1|1|I|ICU^301^1||||D900^华^佗",
        "OBR|1|||182777000^monitoring of patient^SCT|||20261101090000+0800",
        "NTE|1||患者钱多多（身份证" + PATIENT_ID + "）由华佗查房，家属司马懿电话13600001111，住幸福路88号",
        "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.1.1|88|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120|N|||R|||"
        "20261101090000+0800||||SNPLANT0042^SERIAL",
        "OBX|2|TX|8251-1^Nursing note^LN|1|钱多多诉胸闷，联系电话13987654321，邮箱plant.leak@example.org，医保CI9988776655"
        "||||||F|||20261101090500+0800",
        f"NTE|2||{FREE_TEXT_NOTE}",
        f"OBX|3|TX|8251-1^Nursing note^LN|1|{FREE_TEXT_NOTE_2}||||||F|||20261101090600+0800",
    ]) + "\r"
    return (adt + "\n" + oru + "\n" + _alarm_message(pid)).encode()


def _fhir_bundle() -> bytes:
    bundle = {"resourceType": "Bundle", "id": "plant-bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:11111111-2222-4333-8444-555555555555", "resource": {
            "resourceType": "Patient", "id": "wearer-1",
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": WEARER_ID}],
            "name": [{"family": "王", "given": ["二麻子"], "text": "王二麻子"}],
            "telecom": [{"system": "phone", "value": "18655554444"}], "gender": "male", "birthDate": "1987-11-05",
            "address": [{"line": ["天河路1号"], "city": "广州市", "state": "广东省", "postalCode": "510620"}],
            "contact": [{"name": {"family": "周", "given": ["伯通"], "text": "周伯通"},
                         "telecom": [{"system": "phone", "value": "18600002222"}]}]}},
        {"fullUrl": "urn:uuid:66666666-7777-4888-9999-000000000000", "resource": {
            "resourceType": "Device", "id": "watch-1", "serialNumber": "WRPLANT0099",
            "identifier": [{"value": "WRPLANT0099"}]}},
        {"fullUrl": "urn:uuid:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "resource": {
            "resourceType": "Observation", "id": "obs-plant-1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "urn:uuid:11111111-2222-4333-8444-555555555555"},
            "device": {"reference": "urn:uuid:66666666-7777-4888-9999-000000000000"},
            "effectiveDateTime": "2026-11-01T10:00:00+08:00",
            "valueQuantity": {"value": 77, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
            "note": [{"text": "王二麻子说手环松了，联系人周伯通18600002222，设备WRPLANT0099"}]}},
    ]}
    return json.dumps(bundle, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def planted_run(built, settings, keyring, tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    (folder / "planted.hl7").write_bytes(_hl7_messages())
    (folder / "planted.json").write_bytes(_fhir_bundle())
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([folder], conn, keyring)
    assert report.counts.rejected == 0 and report.counts.landed == 6
    outcome = run_everything(settings)
    assert outcome.ok, outcome.as_dict()
    return outcome


def _readable_dump(settings, role: str) -> tuple[str, list[str]]:
    """Every row of every relation the role may SELECT from, as text."""
    with connect(settings, role) as conn:
        relations = [f"{s}.{t}" for s, t in conn.execute("""
            select table_schema, table_name from information_schema.tables
            where table_schema not in ('pg_catalog', 'information_schema')
              and has_table_privilege(format('%I.%I', table_schema, table_name), 'select')""")]
        chunks = []
        for relation in relations:
            try:
                chunks += [row[0] for row in conn.execute(f"select t::text from {relation} t")]
            except psycopg.errors.InsufficientPrivilege:
                conn.rollback()
    return "\n".join(chunks), relations


@pytest.mark.parametrize("role", ["analyst", "compliance", "reader"])
def test_no_planted_value_is_readable(planted_run, settings, role):
    dump, relations = _readable_dump(settings, role)
    assert relations, f"{role} can read nothing"
    leaked = [what for what, value in {**PLANTED, **PLANTED_TEXT}.items() if value in dump]
    assert leaked == [], f"{role} can read: {leaked}"


def test_the_release_candidate_holds_no_planted_value(planted_run, settings):
    """The planted patients are unlike anyone else, so k-anonymity suppresses them from analytics: the rows
    they would be published from (clinical, pseudonymized, with the scrubbed texts) must hold no planted value
    either."""
    with connect(settings, "pipeline") as conn:
        relations = [f"clinical.{r[0]}" for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'clinical'")]
        dump = "\n".join(row[0] for relation in relations
                         for row in conn.execute(f"select t::text from {relation} t"))
    assert "clinical.fct_notes" in relations and "clinical.scrubbed_texts" in relations
    assert [what for what, value in {**PLANTED, **PLANTED_TEXT}.items() if value in dump] == []


def test_the_planted_notes_were_desensitized_not_lost(planted_run, settings):
    """Nothing leaked because it was desensitized, not because it was lost: the scrubbed texts the release
    is built from carry the scrubber's tags where the planted values were."""
    with connect(settings, "pipeline") as conn:
        notes = [r[0] for r in conn.execute(
            "select scrubbed_text from clinical.scrubbed_texts where text_key like 'note:%' "
            "and scrubbed_text is not null")]
        alarms = [r[0] for r in conn.execute(
            "select scrubbed_text from clinical.scrubbed_texts where text_key like 'alarm:%' "
            "and scrubbed_text is not null")]
        readings = conn.execute("select count(*) from clinical.fct_vital_signs where observation_key in "
                                "(select 'fhir:' || resource_row_id || ':0' from landing.fhir_resources)"
                                ).fetchone()[0]
    assert any("[NAME]" in n and ("[ID]" in n or "[RESIDENT_ID]" in n) for n in notes)
    assert any("[PHONE]" in n and "[EMAIL]" in n for n in notes)
    assert any("[ADDRESS]" in n and "[ORG]" in n and "[DATE " in n and "[AGE90+]" in n for n in notes)
    assert any(a.startswith("3床 [NAME] 心率过高") for a in alarms), "the alarm text is scrubbed, not lost"
    assert readings > 0


def test_full_refresh_keeps_masks_and_grants(planted_run, settings, keyring):
    """A full refresh rebuilds the tables from the same declarations: the release stays closed to its readers until
    publication grants it (as after the checks of a passing run), every other role's grants are re-applied."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from orchestration.project import DBT_PROJECT_DIR
    from orchestration.resources import dbt_environment

    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run([dbt, "build", "--full-refresh", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                             str(DBT_PROJECT_DIR)], capture_output=True, text=True, timeout=600,
                            env={**os.environ, **dbt_environment(settings, keyring)})
    assert result.returncode == 0, result.stdout[-3000:]
    closed, _ = _readable_dump(settings, "reader")
    assert _readable_dump(settings, "analyst")[1] == [] and closed == ""
    publish_release(settings)
    dump, relations = _readable_dump(settings, "analyst")
    assert "analytics.vital_signs" in relations and "analytics.clinical_notes" in relations
    assert not [r for r in relations if not r.startswith("analytics.")], relations
    assert [what for what, value in {**PLANTED, **PLANTED_TEXT}.items() if value in dump] == []
    compliance_dump, _ = _readable_dump(settings, "compliance")
    assert [what for what, value in {**PLANTED, **PLANTED_TEXT}.items() if value in compliance_dump] == []
    reader_dump, reader_relations = _readable_dump(settings, "reader")
    assert reader_relations == ["aggregates.vital_signs_summary"]
    assert [what for what, value in {**PLANTED, **PLANTED_TEXT}.items() if value in reader_dump] == []
    with connect(settings, "analyst") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select 1 from recontact.patient_display")
    with connect(settings, "pipeline") as conn:
        masked = conn.execute("select name_masked, phone_masked from recontact.patient_display "
                              "where name_masked like '钱%'").fetchall()
        grantees = {r[0] for r in conn.execute("select grantee from information_schema.role_table_grants "
                                               "where table_schema = 'recontact' and privilege_type = 'SELECT'")}
    assert masked and all(name.endswith("*") and "****" in phone for name, phone in masked)
    assert grantees <= {"wardflow_recontact", "wardflow_pipeline"} and "wardflow_recontact" in grantees

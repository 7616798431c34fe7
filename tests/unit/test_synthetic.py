"""The synthetic data generator: deterministic, valid HL7 v2 and FHIR R4, consistent identities."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from hl7apy.parser import parse_message
from stdnum.cn import ric as stdnum_ric

from connectors.synthetic import generate
from connectors.synthetic.regions import REGIONS, ric_check_digit
from connectors.synthetic.vitals import BY_KEY, METRICS

RIC_OID = "urn:oid:2.16.156.10011.1.3"
MDC_TO_METRIC = {m.mdc: m for m in METRICS}
LOINC_TO_METRIC = {m.loinc: m for m in METRICS if m.loinc}


# ---------------------------------------------------------------- helpers reading the output


def read_hl7(path: Path) -> tuple[str, str]:
    """(text, charset declared in MSH-18) of one HL7 file, decoded with its declared charset."""
    raw = path.read_bytes()
    charset = "gb18030" if b"|GB 18030-2000" in raw.split(b"\r", 1)[0] else "utf-8"
    return raw.decode(charset), charset


def messages(path: Path) -> list[str]:
    """Messages of one file, segments joined with CR, without the trailing separator."""
    text, _ = read_hl7(path)
    return [m.strip("\r\n") for m in re.split(r"(?=^MSH\|)", text, flags=re.M) if m.strip()]


def segments(message: str, name: str) -> list[list[str]]:
    """Fields of every ``name`` segment: ``fields[k]`` is field k (MSH: field k + 1)."""
    return [s.split("|") for s in message.split("\r") if s.startswith(name + "|")]


def msh_type(message: str) -> str:
    return segments(message, "MSH")[0][8]


def msh_time(message: str) -> datetime:
    return datetime.strptime(segments(message, "MSH")[0][6], "%Y%m%d%H%M%S%z")


def pid_identity(message: str) -> dict[str, str]:
    """MRN, resident ID (may be absent), name, birth date and sex from PID."""
    pid = segments(message, "PID")[0]
    ids = {rep.split("^")[-1]: rep.split("^")[0] for rep in pid[3].split("~")}
    family, given = pid[5].split("^")[:2]
    return {
        "mrn": ids["MR"],
        "ric": ids.get("NNCHN", ""),
        "name": family + given,
        "birth": pid[7],
        "sex": pid[8],
        "mobile": pid[13].split("~")[0].split("^")[-1],
    }


def fhir_resources(root: Path) -> list[dict]:
    """Every FHIR resource written: Bundles and their entries, then NDJSON lines."""
    found = []
    for path in sorted((root / "fhir" / "bundles").glob("*.json")):
        bundle = orjson.loads(path.read_bytes())
        found.append(bundle)
        found += [entry["resource"] for entry in bundle["entry"]]
    for path in sorted((root / "fhir" / "ndjson").glob("*.ndjson")):
        found += [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return found


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic_a")
    summary = generate(out)
    return out, summary


@pytest.fixture(scope="module")
def root(run) -> Path:
    return run[0]


@pytest.fixture(scope="module")
def summary(run):
    return run[1]


@pytest.fixture(scope="module")
def oru(root) -> list[str]:
    return [m for p in sorted((root / "hl7" / "monitors").glob("*.hl7")) for m in messages(p)]


@pytest.fixture(scope="module")
def adt(root) -> list[str]:
    return [m for p in sorted((root / "hl7" / "his").glob("*.hl7")) for m in messages(p)]


@pytest.fixture(scope="module")
def resources(root) -> list[dict]:
    return fhir_resources(root)


# ---------------------------------------------------------------- determinism and speed


def test_same_seed_gives_byte_identical_files(root, tmp_path):
    generate(tmp_path)
    assert all_files(tmp_path) == all_files(root)


def test_different_seed_gives_different_data(root, tmp_path):
    generate(tmp_path, seed=43)
    first, second = all_files(root), all_files(tmp_path)
    assert first != second
    assert not set(first.values()) & set(second.values())


def test_default_period_starts_2026_11_01_china_time(oru):
    assert min(msh_time(m) for m in oru).strftime("%Y-%m-%d %z") == "2026-11-01 +0800"


# ---------------------------------------------------------------- counts


def test_summary_counts_match_files(root, summary, oru, adt, resources):
    alarms = [m for p in sorted((root / "hl7" / "alarms").glob("*.hl7")) for m in messages(p)]
    found_messages = Counter(msh_type(m).rsplit("^", 1)[0] for m in oru + adt + alarms)
    assert dict(summary.hl7_messages) == dict(found_messages)
    assert summary.hl7_files == len(list((root / "hl7").rglob("*.hl7")))
    assert summary.fhir_files == len(list((root / "fhir").rglob("*.*json")))
    assert dict(summary.fhir_resources) == dict(Counter(r["resourceType"] for r in resources))
    nm_obx = sum(1 for m in oru for obx in segments(m, "OBX") if obx[2] == "NM")
    assert summary.hl7_observations == nm_obx
    assert summary.observations == nm_obx + summary.fhir_resources["Observation"]
    assert summary.patients == 50 == len({pid_identity(m)["mrn"] for m in adt if "ADT^A01" in m})
    eui64s = {segments(m, "MSH")[0][2].split("^")[1] for m in oru}
    assert summary.devices == 10 == len(eui64s)
    assert summary.as_dict()["hl7_messages"]["ORU^R01"] == len(oru)


def test_summary_is_frozen_and_holds_no_personal_value(summary, adt, resources):
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.patients = 0  # type: ignore[misc]
    text = repr(summary) + json.dumps(summary.as_dict(), ensure_ascii=False)
    personal = set()
    for message in adt:
        ident = pid_identity(message)
        personal |= {ident["mrn"], ident["ric"], ident["name"], ident["mobile"]} - {""}
    personal |= {r["identifier"][0]["value"] for r in resources if r["resourceType"] == "Patient"}
    assert personal and not [value for value in personal if value in text]


# ---------------------------------------------------------------- identities


def test_resident_id_check_digit_agrees_with_stdnum():
    rng = random.Random(1)
    for _ in range(500):
        body = f"{rng.choice(REGIONS).code}{rng.randrange(10**11):011d}"
        assert ric_check_digit(body) == stdnum_ric.calc_check_digit(body + "0")


def test_every_region_code_is_valid_for_every_birth_year():
    for region in REGIONS:
        for year in (1920, 1950, region.since, 2026):
            code = region.code if year >= region.since else region.code[:4] + "00"
            body = f"{code}{year}0101001"
            assert stdnum_ric.is_valid(body + ric_check_digit(body)), (region.code, year)


def test_resident_ids_are_valid_and_match_birth_date_and_sex(adt, oru, resources):
    people = {(i["ric"], i["birth"], i["sex"]) for i in map(pid_identity, adt + oru[::7]) if i["ric"]}
    people |= {
        (r["identifier"][0]["value"], r["birthDate"].replace("-", ""), r["gender"][0].upper())
        for r in resources
        if r["resourceType"] == "Patient"
    }
    assert len({ric for ric, _, _ in people}) >= 50
    for ric, birth, sex in people:
        assert stdnum_ric.is_valid(ric)
        assert ric[6:14] == birth
        assert int(ric[16]) % 2 == (1 if sex == "M" else 0)


def test_ages_span_newborns_to_over_89(adt):
    years = [int(pid_identity(m)["birth"][:4]) for m in adt if "ADT^A01" in m]
    assert min(2026 - y for y in years) <= 14 and max(2026 - y for y in years) >= 90


def test_fhir_patient_links_to_the_same_person_in_hl7(oru, adt, resources):
    hl7_people = {i["ric"]: i for i in map(pid_identity, adt) if i["ric"]}
    monitored = {pid_identity(m)["ric"] for m in oru}
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    assert patients
    for patient in patients:
        (identifier,) = [i for i in patient["identifier"] if i["system"] == RIC_OID]
        person = hl7_people[identifier["value"]]
        assert (patient["name"][0]["text"], patient["birthDate"].replace("-", "")) == (
            person["name"],
            person["birth"],
        )
    assert {p["identifier"][0]["value"] for p in patients} & monitored


def test_duplicate_mrn_appears_in_monitor_data_until_the_merge(oru, adt):
    merges = [m for m in adt if "ADT^A40" in m]
    assert merges
    for merge in merges:
        survivor = pid_identity(merge)
        old_mrn = segments(merge, "MRG")[0][1].split("^")[0]
        merged_at = datetime.strptime(segments(merge, "EVN")[0][6], "%Y%m%d%H%M%S%z")
        before = [m for m in oru if pid_identity(m)["mrn"] == old_mrn]
        after = [m for m in oru if pid_identity(m)["mrn"] == survivor["mrn"]]
        assert before and after
        assert max(msh_time(m) for m in before) < merged_at <= min(msh_time(m) for m in after)
        assert all(pid_identity(m)["ric"] == "" for m in before)


# ---------------------------------------------------------------- HL7


def test_hl7_messages_parse_with_hl7apy(oru, adt):
    special = [m for m in oru + adt if "ADT^A40" in m or "NTE|" in m or "|TX|" in m]
    sample = special + oru[:: max(1, len(oru) // 115)] + adt[:: max(1, len(adt) // 40)]
    assert len(sample) >= 200
    for message in sample:
        parsed = parse_message(message, find_groups=False)
        assert parsed.msh.msh_10.to_er7() == segments(message, "MSH")[0][9]
    assert {msh_type(m) for m in adt} == {
        "ADT^A01^ADT_A01",
        "ADT^A08^ADT_A01",
        "ADT^A03^ADT_A03",
        "ADT^A40^ADT_A39",
    }


def test_monitor_messages_follow_pcd01(oru):
    control_ids = [segments(m, "MSH")[0][9] for m in oru]
    assert len(set(control_ids)) == len(control_ids)
    for message in oru:
        msh = segments(message, "MSH")[0]
        assert (msh[8], msh[11], msh[17]) == ("ORU^R01^ORU_R01", "2.6", "UNICODE UTF-8")
        assert msh[20].startswith("IHE_PCD_001") and msh[2].endswith("^EUI-64")
        assert 10 <= len(segments(message, "OBX")) <= 12  # MDS, its model, 8-9 readings, a note
        for obx in segments(message, "OBX"):
            if obx[2] == "NM":
                assert obx[3].split("^")[0] in MDC_TO_METRIC and obx[8] in {"N", "H", "L", "HH", "LL"}


def test_monitor_reports_only_while_its_patient_is_in_the_bed(oru, adt):
    stays = {}
    for message in adt:
        pv1 = segments(message, "PV1")[0]
        visit = stays.setdefault(pv1[19].split("^")[0], {"location": pv1[3]})
        visit["admit"] = datetime.strptime(pv1[44], "%Y%m%d%H%M%S%z")
        if len(pv1) > 45 and pv1[45]:
            visit["discharge"] = datetime.strptime(pv1[45], "%Y%m%d%H%M%S%z")
    for message in oru:
        pv1, when = segments(message, "PV1")[0], msh_time(message)
        stay = stays[pv1[19].split("^")[0]]
        assert pv1[3] == stay["location"] and segments(message, "MSH")[0][3] == pv1[3].split("^")[0]
        assert stay["admit"] <= when < stay.get("discharge", datetime.max.replace(tzinfo=when.tzinfo))


def test_gb18030_files_decode_as_gb18030_and_not_as_utf8(root):
    charsets = Counter()
    for path in sorted((root / "hl7" / "his").glob("*.hl7")):
        text, charset = read_hl7(path)
        charsets[charset] += 1
        if charset == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                path.read_bytes().decode("utf-8")
        assert all(segments(m, "MSH")[0][17] in ("UNICODE UTF-8", "GB 18030-2000") for m in messages(path))
    assert charsets["gb18030"] >= 1 and charsets["utf-8"] > charsets["gb18030"]


def test_values_have_abnormal_flags_and_rare_implausible_outliers(summary, oru, resources):
    flags, outside = Counter(), 0
    for message in oru:
        for obx in segments(message, "OBX"):
            if obx[2] == "NM":
                low, high = MDC_TO_METRIC[obx[3].split("^")[0]].limits
                outside += not low <= float(obx[5]) <= high
                flags[obx[8]] += 1
    for r in resources:
        metric = LOINC_TO_METRIC.get(r.get("code", {}).get("coding", [{}])[0].get("code"))
        if metric:
            outside += not metric.limits[0] <= r["valueQuantity"]["value"] <= metric.limits[1]
    assert flags["H"] and flags["L"] and flags["N"] > 0.7 * sum(flags.values())
    assert 0 < summary.implausible_values == outside < 0.005 * summary.observations


def note_texts(message: str) -> list[str]:
    """Free text of NTE-3 and of OBX type TX."""
    return [s[3] for s in segments(message, "NTE")] + [s[5] for s in segments(message, "OBX") if s[2] == "TX"]


def test_nurse_notes_carry_personal_data_and_can_be_switched_off(oru, tmp_path):
    noted = [(pid_identity(m), note) for m in oru for note in note_texts(m)]
    assert noted
    assert any(who["name"] in note for who, note in noted)
    assert any(who["ric"] and who["ric"] in note for who, note in noted)
    summary = generate(tmp_path, patients=10, devices=3, days=1, notes=False)
    assert summary.notes == 0
    files = all_files(tmp_path)
    assert not [name for name, data in files.items() if b"\rNTE|" in data or b"|TX|" in data]
    assert not [name for name, data in files.items() if b'"note"' in data]


# ---------------------------------------------------------------- FHIR


def test_every_fhir_resource_validates_with_fhir_resources_r4b(resources):
    # A Bundle validates its entries as their own resource types, so only top-level ones are checked.
    entries = {id(e["resource"]) for r in resources if r["resourceType"] == "Bundle" for e in r["entry"]}
    checked = [r for r in resources if id(r) not in entries]
    for resource in checked:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert len(checked) < len(resources)


def test_fhir_observations_use_loinc_ucum_and_china_time(resources):
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    codes = Counter(r["code"]["coding"][0]["code"] for r in observations)
    assert {"8867-4", "59408-5", "8310-5", "9279-1", "55423-8"} <= set(codes)
    for r in observations:
        assert r["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert r["effectiveDateTime"].endswith("+08:00")
        assert r["subject"]["reference"] and r["device"]["reference"]
    assert BY_KEY["temp"].ucum == "Cel"

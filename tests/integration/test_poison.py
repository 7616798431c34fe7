"""Poison input never stops the pipeline: each value that once landed and then failed every later build is
ingested here beside good messages, and the whole pipeline must still run and carry every good message to its
layer. What cannot be stored safely (NUL, over-long routing values, over-size messages, unreadable files) is
rejected with a rule and the rest of the batch lands."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connectors.ingest import ingest_paths
from orchestration.runner import run_everything
from orchestration.warehouse.database import connect

CONTROL_PREFIX = "PZN"


def oru(n: int, *, pid7: str = "19700101", obx5: str = "72", obx14: str = "20261101090000+0800",
        pid5: str = "钱^多多", obx18: str = "02AABBCCDDEE0042^EUI-64", control: str | None = None) -> bytes:
    """One valid monitor ORU (heart rate) whose patient and control id are unique to `n`."""
    mrn = f"PZNMRN{n:06d}"
    return ("\r".join([
        f"MSH|^~\\&|MONITOR^02AABBCCDDEE0042^EUI-64|ICU-P|WARDFLOW|H1|20261101090000+0800||ORU^R01^ORU_R01|"
        f"{control or f'{CONTROL_PREFIX}-{n}'}|P|2.6|||AL|NE||UNICODE UTF-8",
        f"PID|1||{mrn}^^^HIS&1.2.156.112604.1.2.1&ISO^MR||{pid5}||{pid7}|F",
        "PV1|1|I|ICU-1^01^01",
        "OBR|1||P1^MONITOR^02AABBCCDDEE0042^EUI-64|182777000^monitoring of patient^SCT|||20261101090000+0800",
        f"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|{obx5}|264864^MDC_DIM_BEAT_PER_MIN^MDC|60-100|N|||R|||"
        f"{obx14}||||{obx18}",
    ]) + "\r").encode()


# Values that land (they are well-formed HL7 or FHIR) but cannot be cast: each must become null, not an error.
LANDING_POISON = {
    "pid7_month_13": {"pid7": "19901340"},
    "pid7_feb_30": {"pid7": "19900230"},
    "pid7_year_zero": {"pid7": "00000101"},
    "obx14_hour_24": {"obx14": "20261101240000+0800"},
    "obx14_minute_60": {"obx14": "20261101096000"},
    "obx14_offset_9999": {"obx14": "20261101090000+9999"},
    "obx14_feb_30": {"obx14": "20260230090000"},
    "obx5_1e999": {"obx5": "1e999"},
    "obx5_minus_1e400": {"obx5": "-1e400"},
    "obx5_digits": {"obx5": "9" * 400},
}


def _fhir_bundle(tag: str, *, birth: str, effective: str, value: object, name: str = "钱") -> dict:
    pat = f"urn:uuid:00000000-0000-4000-8000-{abs(hash(tag)) % 10**12:012d}"
    return {"resourceType": "Bundle", "id": f"pzn-{tag}", "type": "collection", "entry": [
        {"fullUrl": pat, "resource": {
            "resourceType": "Patient", "id": f"pzn-pat-{tag}",
            "identifier": [{"system": "urn:oid:1.2.156.112604.1.2.1", "value": f"PZNFHIR{tag}"}],
            "name": [{"family": name}], "gender": "female", "birthDate": birth}},
        {"fullUrl": f"urn:uuid:10000000-0000-4000-8000-{abs(hash(tag)) % 10**12:012d}", "resource": {
            "resourceType": "Observation", "id": f"pzn-obs-{tag}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": pat}, "effectiveDateTime": effective,
            "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org",
                              "code": "/min"}}}]}


FHIR_POISON = {
    "effective_feb_30": {"birth": "1990-01-01", "effective": "2026-02-30T10:00:00Z", "value": 70},
    "birth_feb_30": {"birth": "1990-02-30", "effective": "2026-11-01T10:00:00Z", "value": 71},
    "effective_hour_25": {"birth": "1990-01-01", "effective": "2026-11-01T25:00:00+08:00", "value": 72},
    "effective_offset_99": {"birth": "1990-01-01", "effective": "2026-11-01T10:00:00+99:00", "value": 73},
    "value_1e308": {"birth": "1990-01-01", "effective": "2026-11-01T10:00:00Z", "value": 1.7e308},
}


def _good_hl7_ids(conn, controls: list[str]) -> list[int]:
    return [r[0] for r in conn.execute("select message_id from landing.hl7_messages where control_id = any(%s)",
                                       (controls,))]


@pytest.fixture(scope="module")
def poisoned(built, settings, keyring, tmp_path_factory):
    """Poison and good messages ingested into the session database, then one whole pipeline run."""
    folder = tmp_path_factory.mktemp("poison")
    for n, (name, values) in enumerate(LANDING_POISON.items(), start=1):
        (folder / f"{name}.hl7").write_bytes(oru(n, **values))
    good = b"".join(oru(100 + n) for n in range(10))
    (folder / "good.hl7").write_bytes(good)
    (folder / "nul_in_pid5.hl7").write_bytes(oru(200, pid5="钱\x00^多多"))
    (folder / "nul_escape_in_obx5.hl7").write_bytes(oru(201, obx5="\\X00\\"))
    for tag, values in FHIR_POISON.items():
        (folder / f"fhir_{tag}.json").write_bytes(json.dumps(_fhir_bundle(tag, **values)).encode())
    (folder / "fhir_nul.json").write_bytes(json.dumps(
        _fhir_bundle("nul", birth="1990-01-01", effective="2026-11-01T10:00:00Z", value=74, name="钱\x00")).encode())
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([folder], conn, keyring)
    outcome = run_everything(settings)
    return report, outcome


def test_the_pipeline_runs_through_poison(poisoned):
    _, outcome = poisoned
    assert outcome.ok, outcome.as_dict()


def test_every_good_and_every_castable_message_reaches_clinical(poisoned, settings):
    """A reading whose value is no number is no vital sign: its message still reaches the vault (its patient);
    every other poisoned message, with its bad date or time nulled, and every good one reach the facts."""
    numbers = {n for n, name in enumerate(LANDING_POISON, start=1) if name.startswith("obx5")}
    facts = [f"{CONTROL_PREFIX}-{n}" for n in [*range(1, len(LANDING_POISON) + 1), *range(100, 110)]
             if n not in numbers]
    with connect(settings, "pipeline") as conn:
        ids = _good_hl7_ids(conn, facts)
        reached = {int(r[0]) for r in conn.execute(
            "select distinct split_part(observation_key, ':', 2) from clinical.fct_vital_signs "
            "where observation_key like 'hl7:%%' and split_part(observation_key, ':', 2)::bigint = any(%s)",
            (ids,))}
        number_ids = _good_hl7_ids(conn, [f"{CONTROL_PREFIX}-{n}" for n in numbers])
        in_vault = {int(r[0]) for r in conn.execute(
            "select occurrence from vault.patient_occurrences where source = 'hl7' and occurrence = any(%s)",
            ([str(i) for i in number_ids],))}
    assert len(ids) == len(facts) and reached == set(ids)
    assert len(number_ids) == len(numbers) and in_vault == set(number_ids)


def test_invalid_values_become_null(poisoned, settings):
    """Dates and times that do not exist are null in the facts (the message time stands in for OBX-14)."""
    with connect(settings, "pipeline") as conn:
        rows = dict(conn.execute(
            "select l.control_id, f.observed_at from clinical.fct_vital_signs f join landing.hl7_messages l "
            "on l.message_id = split_part(f.observation_key, ':', 2)::bigint "
            "where f.observation_key like 'hl7:%%' and l.control_id like 'PZN-%%'").fetchall())
    message_time = rows[f"{CONTROL_PREFIX}-100"]
    for n, name in enumerate(LANDING_POISON, start=1):
        if name.startswith("obx14"):
            assert rows[f"{CONTROL_PREFIX}-{n}"] == message_time, name


# The field each poison breaks, as audit.invalid_values names it (an independent table: written from the issue's
# list of poisons, not from the model's field list).
POISON_FIELDS = {"pid7": "PID-7", "obx14": "OBX-14", "obx5": "OBX-5"}
FHIR_POISON_FIELDS = {"effective_feb_30": "Observation.effectiveDateTime", "birth_feb_30": "Patient.birthDate",
                      "effective_hour_25": "Observation.effectiveDateTime",
                      "effective_offset_99": "Observation.effectiveDateTime"}


def test_every_nulled_value_is_a_counted_finding_naming_its_field_and_rule(poisoned, settings):
    """DESIGN decision 12: an invalid value becomes null plus a finding. Each poisoned message has exactly the
    finding of its field; good messages have none; the findings hold no value; the run summary counts them."""
    _, outcome = poisoned
    with connect(settings, "pipeline") as conn:
        findings = conn.execute(
            "select l.control_id, f.field, f.rule from audit.invalid_values f join landing.hl7_messages l "
            "on f.source = 'hl7' and l.message_id = f.landing_row_id where l.control_id like 'PZN-%%'").fetchall()
        fhir = {r[0] for r in conn.execute("select field from audit.invalid_values where source = 'fhir'")}
        text = " ".join(str(v) for row in conn.execute("select * from audit.invalid_values") for v in row)
    expected = {(f"{CONTROL_PREFIX}-{n}", POISON_FIELDS[name.split("_")[0]])
                for n, name in enumerate(LANDING_POISON, start=1)}
    poisoned_or_good = {c for c, _ in expected} | {f"{CONTROL_PREFIX}-{n}" for n in range(100, 110)}
    assert {(c, f) for c, f, _ in findings if c in poisoned_or_good} == expected
    assert all(rule for _, _, rule in findings)
    assert fhir >= set(FHIR_POISON_FIELDS.values()) | {"Observation.valueQuantity.value"}
    for values in LANDING_POISON.values():
        for value in values.values():
            assert value not in text
    assert outcome.invalid_values is not None and outcome.invalid_values >= len(expected)


def test_fhir_poison_lands_and_reaches_clinical(poisoned, settings):
    with connect(settings, "pipeline") as conn:
        rows = conn.execute("select count(*) from clinical.fct_vital_signs where source = 'fhir' and "
                            "value_num between 70 and 73").fetchone()[0]
    assert rows >= 4


def test_nul_is_rejected_with_its_field_and_rule(poisoned, settings):
    with connect(settings, "pipeline") as conn:
        rules = conn.execute("select format, rule, field_path, reason from landing.rejected "
                             "where rule like '%%nul%%'").fetchall()
    hl7 = {r[2] for r in rules if r[0] == "hl7v2"}
    assert "PID-5" in hl7
    assert any(r[0] == "fhir" and "Patient" in r[3] and r[2].startswith("Bundle.entry[0]") for r in rules)
    assert all("\x00" not in r[3] and "钱" not in r[3] for r in rules)


def test_an_escaped_nul_lands_without_it(poisoned, settings):
    with connect(settings, "pipeline") as conn:
        landed = conn.execute("select count(*) from landing.hl7_messages where control_id = 'PZN-201'").fetchone()[0]
    assert landed == 1


def test_one_over_long_control_id_does_not_stop_the_ten_around_it(built, settings, tmp_path, wardflow_env):
    """`wardflow ingest` of a file where the sixth of eleven messages has a 3,000-character MSH-10."""
    messages = [oru(300 + n) for n in range(5)] + [oru(399, control="C" * 3000)] + [oru(310 + n) for n in range(5)]
    (tmp_path / "batch.hl7").write_bytes(b"".join(messages))
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest", str(tmp_path), "--json"],
                          capture_output=True, text=True, env={**os.environ, **wardflow_env}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert (report["landed"], report["rejected"]) == (10, 1)
    with connect(settings, "pipeline") as conn:
        rule = conn.execute("select rule, field_path from landing.rejected where rule like 'msh.control_id%%' "
                            "order by rejected_id desc limit 1").fetchone()
    assert rule == ("msh.control_id.too_long", "MSH-10")


def test_an_oversize_message_is_rejected_and_memory_stays_bounded(built, settings, keyring, tmp_path):
    """A message over the limit is rejected with its size and rule; the messages after it land."""
    big = oru(400, obx5="1" * (3 * 1024 * 1024))
    (tmp_path / "big.hl7").write_bytes(oru(401) + big + oru(402))
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([tmp_path], conn, keyring, max_message_bytes=1024 * 1024)
        rejected = conn.execute("select rule, payload_bytes, reason from landing.rejected "
                                "where rule = 'input.too_large' order by rejected_id desc limit 1").fetchone()
    assert (report.counts.landed, report.counts.rejected) == (2, 1)
    assert rejected[0] == "input.too_large" and rejected[1] <= 1024 * 1024
    assert str(len(big)) in rejected[2]


def test_a_200_mb_message_is_rejected_without_loading_it(built, settings, keyring, tmp_path):
    path = tmp_path / "huge.hl7"
    with path.open("wb") as handle:
        handle.write(oru(500)[:-1] + b"\rNTE|1||")
        chunk = b"x" * (1 << 20)
        for _ in range(200):
            handle.write(chunk)
        handle.write(b"\r" + oru(501))
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([tmp_path], conn, keyring)
    assert (report.counts.landed, report.counts.rejected) == (1, 1)


def test_a_file_that_cannot_be_read_is_rejected_and_the_rest_lands(built, settings, keyring, tmp_path):
    """A file that vanishes (or, for a non-root user, is unreadable) once listed: rejected, the rest lands."""
    for n in range(3):
        (tmp_path / f"{n}.hl7").write_bytes(oru(600 + n))
    if os.geteuid() != 0:
        (tmp_path / "1.hl7").chmod(0)

    def remove_the_next(_: int) -> None:
        (tmp_path / "2.hl7").unlink(missing_ok=True)

    with connect(settings, "pipeline") as conn:
        report = ingest_paths([tmp_path], conn, keyring, on_progress=remove_the_next)
        rows = conn.execute("select rule, field_path from landing.rejected where rule = 'input.unreadable'"
                            ).fetchall()
    assert report.counts.landed >= 1 and report.counts.rejected >= 1
    assert report.counts.landed + report.counts.rejected == 3
    assert rows and all(r[1] == "file" for r in rows)

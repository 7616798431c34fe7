"""The synthetic hospital's alarms (IHE PCD-04 ORU^R40) and monitor models: what an analyst counts alarms by
must be in the generated messages, in the shape the staging models read, and nothing else must change."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from hl7apy.parser import parse_message

from connectors.synthetic import generate
from connectors.synthetic.devices import MONITOR_MODELS, make_monitors


def _messages(folder: Path) -> list[str]:
    return [m.rstrip("\r") for p in sorted(folder.glob("*.hl7")) for m in p.read_bytes().decode("utf-8").split("\r\n") if m]


def _segments(message: str, name: str) -> list[list[str]]:
    return [s.split("|") for s in message.split("\r") if s.startswith(name + "|")]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("alarms")
    generate(root, patients=30, days=2, devices=8, seed=11)
    return root


@pytest.fixture(scope="module")
def alarms(out) -> list[str]:
    return _messages(out / "hl7" / "alarms")


def _attributes(message: str) -> dict[str, str]:
    return {obx[3].split("^")[1]: obx[5] for obx in _segments(message, "OBX")}


def test_monitors_send_pcd04_alarms(alarms):
    assert len(alarms) >= 20
    for message in alarms:
        msh = _segments(message, "MSH")[0]
        assert (msh[8], msh[11]) == ("ORU^R40^ORU_R40", "2.6") and msh[20].startswith("IHE_PCD_ACM_001")
        assert _segments(message, "OBR")[0][4] == "196616^MDC_EVT_ALARM^MDC" and _segments(message, "PID")
        attrs = _attributes(message)
        events = [name for name in attrs if name.startswith("MDC_EVT_")]
        assert len(events) == 1
        assert attrs["MDC_ATTR_EVENT_PHASE"] in {"start", "end"}
        assert attrs["MDC_ATTR_ALARM_STATE"] == {"start": "active", "end": "inactive"}[attrs["MDC_ATTR_EVENT_PHASE"]]
        assert attrs["MDC_ATTR_ALARM_PRIORITY"] in {"PH", "PM", "PL"}
        assert attrs["MDC_ATTR_ALERT_TYPE"] in {"SP", "ST"}
        sources = [name for name in attrs if not name.startswith(("MDC_EVT_", "MDC_ATTR_"))]
        assert len(sources) == 1 and sources[0].startswith(("MDC_ECG", "MDC_PULS", "MDC_RESP", "MDC_PRESS"))
        assert all(obx[18].endswith("^EUI-64") for obx in _segments(message, "OBX"))


def test_alarms_mix_events_priorities_and_types(alarms):
    seen = Counter((name, a["MDC_ATTR_ALARM_PRIORITY"], a["MDC_ATTR_ALERT_TYPE"])
                   for a in map(_attributes, alarms) for name in a if name.startswith("MDC_EVT_"))
    assert {e for e, _, _ in seen} >= {"MDC_EVT_HI", "MDC_EVT_LO", "MDC_EVT_LEAD_DISCONN"}
    assert {p for _, p, _ in seen} == {"PH", "PM", "PL"} and {t for _, _, t in seen} == {"SP", "ST"}


def test_alarm_values_are_neither_vitals_nor_free_text(alarms):
    """Staging reads NM/SN OBX as vital signs and TX/FT/ST as notes: an alarm must be counted as neither."""
    assert {obx[2] for m in alarms for obx in _segments(m, "OBX")} == {"CWE"}


def test_alarms_come_from_a_bed_while_its_patient_is_in_it(out, alarms):
    monitor_files = {p.name for p in (out / "hl7" / "monitors").glob("*.hl7")}
    assert {p.name for p in (out / "hl7" / "alarms").glob("*.hl7")} <= monitor_files
    patient_by_bed: dict[tuple[str, str], set[str]] = {}
    for message in _messages(out / "hl7" / "monitors"):
        key = (_segments(message, "MSH")[0][2], _segments(message, "MSH")[0][6][:10])
        patient_by_bed.setdefault(key, set()).add(_segments(message, "PID")[0][3])
    for message in alarms:
        key = (_segments(message, "MSH")[0][2], _segments(message, "MSH")[0][6][:10])
        assert _segments(message, "PID")[0][3] in patient_by_bed[key]


def test_each_file_is_in_time_order_and_parses(out, alarms):
    for path in sorted((out / "hl7" / "alarms").glob("*.hl7")):
        in_file = [m for m in path.read_bytes().decode("utf-8").split("\r\n") if m]
        times = [datetime.strptime(_segments(m, "MSH")[0][6], "%Y%m%d%H%M%S%z") for m in in_file]
        assert times == sorted(times)
    for message in alarms[:: max(1, len(alarms) // 40)]:
        assert parse_message(message, find_groups=False).msh.msh_9.to_er7() == "ORU^R40^ORU_R40"


def test_monitor_results_name_the_model_and_never_the_serial(out):
    monitors = make_monitors(11, 8, 900)
    serials = {m.serial for m in monitors}
    models = set()
    for message in _messages(out / "hl7" / "monitors"):
        obx = [o for o in _segments(message, "OBX") if o[3] == "67880^MDC_ATTR_ID_MODEL^MDC"]
        assert len(obx) == 1 and obx[0][2] == "CWE"
        models.add(obx[0][5])
        assert not any(serial in message for serial in serials)
    assert models and models <= {f"{maker}^{model}" for maker, model, _ in MONITOR_MODELS}

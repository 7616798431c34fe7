"""Bedside monitor alarms: HL7 v2.6 ORU^R40 in IHE PCD-04 (Alert Communication Management) style.

One file per monitor per day (``hl7/alarms/<EUI64>_<YYYYMMDD>.hl7``). While a patient lies in a monitored
bed, the monitor raises an alarm now and then; each alarm is sent twice: phase ``start`` (state ``active``)
and, a few minutes later, phase ``end`` (state ``inactive``). Each message holds one OBR (the event report)
with OBX rows for the physiological or technical source, the MDC event, the event phase, the alarm state,
the priority (PH/PM/PL) and the alert type (SP physiological, ST technical), as PCD-04 lays them out.

Value types are CWE/NM-free on purpose: the numeric that crossed the limit travels in the event text, so the
alarm never counts as a second vital-sign reading (staging reads NM/SN values as vitals) and the coded
attributes are not taken for free text (staging reads TX/FT/ST as notes). Kept apart from the ORU^R01
writer: it walks the same bed occupancy with an RNG of its own, so vital-sign files do not change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .census import RunConfig, Stay
from .devices import Monitor
from .hl7_oru import DailyFiles, ticks
from .hl7_segments import hl7_ts, msh, pid, pv1, segment
from .summary import Tally

ACM_PROFILE = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO"
ALARMS_PER_HOUR = 0.4  # about ten per monitored bed-day (real ICUs see more: alarm fatigue)
EVENT_REPORT = "196616^MDC_EVT_ALARM^MDC"
PHASE, STATE = "68481^MDC_ATTR_EVENT_PHASE", "68482^MDC_ATTR_ALARM_STATE"
PRIORITY, ALERT_TYPE = "68484^MDC_ATTR_ALARM_PRIORITY", "68485^MDC_ATTR_ALERT_TYPE"


@dataclass(frozen=True)
class AlarmKind:
    """What a monitor can alarm about: source (physiological code), MDC event, priority, type, text."""

    source: str  # MDC code^reference id of the parameter or of the device part
    event: str  # MDC code^reference id of the event
    priority: str  # PH high, PM medium, PL low
    alert_type: str  # SP physiological, ST technical
    text: str  # event text as a monitor shows it; {v} is the value that crossed the limit
    values: tuple[int, int]  # range the value is drawn from
    weight: int


# IEEE 11073-10101 partition 3 (events, 196608 + n): MDC_EVT_ALARM 3::8 (196616) and MDC_EVT_SENSOR_DISCONN 3::308
# (196916) as a Draeger PCD-04 sample of the shared corpus sends them (hl7v2/draeger_PCD04_alarm.txt);
# MDC_EVT_HI 3::40 (196648) and MDC_EVT_LO 3::62 (196670) as HL7's device-alert FHIR profiles code them;
# MDC_EVT_LEAD_DISCONN 3::268 (196876) as DICOM CID 3039 lists it.
KINDS = (
    AlarmKind("147842^MDC_ECG_HEART_RATE", "196648^MDC_EVT_HI", "PM", "SP", "HR {v} > 120", (121, 165), 30),
    AlarmKind("147842^MDC_ECG_HEART_RATE", "196670^MDC_EVT_LO", "PH", "SP", "HR {v} < 45", (30, 44), 8),
    AlarmKind("150456^MDC_PULS_OXIM_SAT_O2", "196670^MDC_EVT_LO", "PH", "SP", "SpO2 {v} < 90", (78, 89), 20),
    AlarmKind("151562^MDC_RESP_RATE", "196648^MDC_EVT_HI", "PM", "SP", "RR {v} > 30", (31, 42), 10),
    AlarmKind("150021^MDC_PRESS_BLD_NONINV_SYS", "196648^MDC_EVT_HI", "PM", "SP", "NBPs {v} > 160", (161, 210), 10),
    AlarmKind("150021^MDC_PRESS_BLD_NONINV_SYS", "196670^MDC_EVT_LO", "PH", "SP", "NBPs {v} < 90", (65, 89), 6),
    AlarmKind("131328^MDC_ECG_ELEC_POTL", "196876^MDC_EVT_LEAD_DISCONN", "PL", "ST", "ECG lead off", (0, 0), 12),
    AlarmKind("150456^MDC_PULS_OXIM_SAT_O2", "196916^MDC_EVT_SENSOR_DISCONN", "PL", "ST", "SpO2 sensor off", (0, 0), 4),
)


def _attribute(set_id: int, code: str, sub_id: str, value: str, ts: str, eui: str) -> str:
    """One coded OBX (CWE) of the event report."""
    return segment("OBX", {1: str(set_id), 2: "CWE", 3: f"{code}^MDC", 4: sub_id, 5: value, 11: "F", 14: ts, 18: eui})


def alarm_message(monitor: Monitor, stay: Stay, when: datetime, control_id: str, kind: AlarmKind,
                  text: str, phase: str) -> str:
    """One ORU^R40 message (segments ended by CR, then LF): the alarm ``kind`` in ``phase`` start or end."""
    ts, eui = hl7_ts(when), f"{monitor.eui64}^EUI-64"
    state = "active" if phase == "start" else "inactive"
    rows = [
        (kind.source, "1.0.0.0.1", kind.source + "^MDC"),
        (kind.event, "1.0.0.0.2", text),
        (PHASE, "1.0.0.0.3", phase),
        (STATE, "1.0.0.0.4", state),
        (PRIORITY, "1.0.0.0.5", kind.priority),
        (ALERT_TYPE, "1.0.0.0.6", kind.alert_type),
    ]
    segments = [
        msh(f"MONITOR^{monitor.eui64}^EUI-64", monitor.ward, when, "ORU^R40^ORU_R40", control_id, "2.6",
            "utf-8", ACM_PROFILE),
        pid(stay.person_at(when), *stay.identity_at(when)),
        pv1(stay),
        segment("OBR", {1: "1", 3: f"{control_id}^MONITOR^{monitor.eui64}^EUI-64", 4: EVENT_REPORT, 7: ts}),
        *(_attribute(n, code, sub, value, ts, eui) for n, (code, sub, value) in enumerate(rows, start=1)),
    ]
    return "\r".join(segments) + "\r\n"


def _alarms_of_stay(files: DailyFiles, monitor: Monitor, stay: Stay, cfg: RunConfig, tally: Tally,
                    seq: int) -> int:
    rng = random.Random(f"{cfg.seed}:alarms:{monitor.index}:{stay.index}")  # noqa: S311 - synthetic data
    rate = min(1.0, ALARMS_PER_HOUR * cfg.interval.total_seconds() / 3600)  # per reporting tick
    weights = [k.weight for k in KINDS]
    leave, busy_until = min(stay.discharge or cfg.end, cfg.end), cfg.start
    for when in ticks(stay, monitor, cfg):
        if rng.random() >= rate or when <= busy_until:
            continue  # one alarm at a time per bed keeps each file in time order
        kind = rng.choices(KINDS, weights)[0]
        text = kind.text.format(v=rng.randint(*kind.values))
        ended = busy_until = when + timedelta(seconds=rng.randrange(30, 600))
        for phase, at in (("start", when), ("end", ended)):
            if at >= leave:
                break  # the bed was left (or the period ended) while the alarm was still on
            seq += 1
            files.write(at, alarm_message(monitor, stay, at, f"A{monitor.index:04d}{seq:08d}", kind, text, phase))
            tally.hl7_messages["ORU^R40"] += 1
    return seq


def write_alarm_feeds(out_dir: Path, monitors: list[Monitor], stays: list[Stay], cfg: RunConfig,
                      tally: Tally) -> None:
    """Write every monitor's alarms to ``out_dir/hl7/alarms``."""
    folder = out_dir / "hl7" / "alarms"
    folder.mkdir(parents=True, exist_ok=True)
    for monitor in monitors:
        files, seq = DailyFiles(folder, monitor.eui64, tally), 0
        mine = sorted((s for s in stays if s.monitor is not None and s.monitor.index == monitor.index),
                      key=lambda s: s.admit)
        for stay in mine:
            seq = _alarms_of_stay(files, monitor, stay, cfg, tally, seq)
        files.close()

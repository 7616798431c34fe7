"""Bedside monitor feeds: HL7 v2.6 ORU^R01 in IHE PCD-01 style, one file per monitor per day.

A monitor reports every ``interval`` while a patient lies in its bed: MDS device OBX plus nine
numeric vital signs. Some messages carry a nurse's note (NTE after OBR, or an OBX of type TX).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from .census import RunConfig, Stay
from .devices import Monitor
from .hl7_segments import PCD_PROFILE, esc, hl7_ts, msh, pid, pv1, segment
from .notes import NOTE_RATE, nurse_note
from .summary import Tally
from .vitals import Reading, VitalStream, baseline

MDS_CODE = "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC"
MODEL_CODE = "67880^MDC_ATTR_ID_MODEL^MDC"  # MDS attribute: manufacturer^model (never the serial)
NOTE_CODE = "34746-8^Nurse Note^LN"


class DailyFiles:
    """Appends messages of one monitor to ``<EUI64>_<YYYYMMDD>.hl7``, opening files as days go by."""

    def __init__(self, folder: Path, stem: str, tally: Tally) -> None:
        self.folder, self.stem, self.tally = folder, stem, tally
        self.day: date | None = None
        self.handle: TextIO | None = None

    def write(self, when: datetime, message: str) -> None:
        if when.date() != self.day:
            self.close()
            self.day = when.date()
            path = self.folder / f"{self.stem}_{self.day:%Y%m%d}.hl7"
            self.handle = path.open("w", encoding="utf-8", newline="")
            self.tally.hl7_files += 1
        assert self.handle is not None
        self.handle.write(message)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def ticks(stay: Stay, monitor: Monitor, cfg: RunConfig) -> Iterator[datetime]:
    """Reporting instants of ``monitor`` while ``stay`` occupies its bed (a fixed grid from start)."""
    origin = cfg.start + timedelta(seconds=monitor.offset_seconds)
    n = max(0, -(-(stay.admit - origin) // cfg.interval))
    leave = min(stay.discharge or cfg.end, cfg.end)
    when = origin + n * cfg.interval
    while when < leave:
        yield when
        when += cfg.interval


def obx_reading(set_id: int, reading: Reading, ranges: tuple[float, float], ts: str, eui: str) -> str:
    m, d = reading.metric, reading.metric.decimals
    return segment(
        "OBX",
        {
            1: str(set_id),
            2: "NM",
            3: f"{m.mdc}^{m.mdc_ref}^MDC",
            4: m.sub_id,
            5: reading.text(),
            6: f"{m.unit_mdc}^{m.unit_ref}^MDC",
            7: f"{ranges[0]:.{d}f}-{ranges[1]:.{d}f}",
            8: reading.flag,
            11: "R",
            14: ts,
            18: eui,
        },
    )


def model_obx(set_id: int, monitor: Monitor, eui: str) -> str:
    """The MDS's model attribute as a coded OBX (CWE: neither a vital sign nor free text downstream)."""
    model = f"{esc(monitor.manufacturer)}^{esc(monitor.model)}"
    return segment("OBX", {1: str(set_id), 2: "CWE", 3: MODEL_CODE, 4: "1.0.0.0.1", 5: model, 11: "X", 18: eui})


def oru_message(
    monitor: Monitor,
    stay: Stay,
    when: datetime,
    control_id: str,
    readings: list[Reading],
    ranges: dict[str, tuple[float, float]],
    note: str | None,
    note_as_nte: bool,
) -> str:
    """One ORU^R01 message, segments ended by CR, followed by LF."""
    ts, eui = hl7_ts(when), f"{monitor.eui64}^EUI-64"
    segments = [
        msh(
            f"MONITOR^{monitor.eui64}^EUI-64",
            monitor.ward,
            when,
            "ORU^R01^ORU_R01",
            control_id,
            "2.6",
            "utf-8",
            PCD_PROFILE,
        ),
        pid(stay.person_at(when), *stay.identity_at(when)),
        pv1(stay),
        segment(
            "OBR",
            {
                1: "1",
                3: f"{control_id}^MONITOR^{monitor.eui64}^EUI-64",
                4: "182777000^monitoring of patient^SCT",
                7: ts,
            },
        ),
    ]
    if note and note_as_nte:
        segments.append(segment("NTE", {1: "1", 2: "L", 3: esc(note)}))
    segments.append(segment("OBX", {1: "1", 3: MDS_CODE, 4: "1.0.0.0", 11: "X", 18: eui}))
    segments.append(model_obx(2, monitor, eui))
    for set_id, reading in enumerate(readings, start=3):
        segments.append(obx_reading(set_id, reading, ranges[reading.metric.key], ts, eui))
    if note and not note_as_nte:
        segments.append(
            segment(
                "OBX",
                {
                    1: str(len(readings) + 3),
                    2: "TX",
                    3: NOTE_CODE,
                    4: "1.0.0.1",
                    5: esc(note),
                    11: "R",
                    14: ts,
                    18: eui,
                },
            )
        )
    return "\r".join(segments) + "\r\n"


def _write_stay(
    files: DailyFiles, monitor: Monitor, stay: Stay, cfg: RunConfig, tally: Tally, seq: int
) -> int:
    age = stay.person.age_on(stay.admit.date())
    rng = random.Random(f"{cfg.seed}:oru:{monitor.index}:{stay.index}")  # noqa: S311 - synthetic data
    stream = VitalStream(rng, baseline(cfg.seed, stay.person.index, age), age)
    normal = {key: pair[0] for key, pair in stream.ranges.items()}
    for when in ticks(stay, monitor, cfg):
        seq += 1
        readings = stream.step()
        note = nurse_note(rng, stay.person) if cfg.notes and rng.random() < NOTE_RATE else None
        as_nte = rng.random() < 0.5
        files.write(
            when,
            oru_message(
                monitor, stay, when, f"M{monitor.index:04d}{seq:08d}", readings, normal, note, as_nte
            ),
        )
        tally.hl7_messages["ORU^R01"] += 1
        tally.hl7_observations += len(readings)
        tally.implausible_values += sum(r.implausible for r in readings)
        tally.notes += note is not None
    return seq


def write_monitor_feeds(
    out_dir: Path, monitors: list[Monitor], stays: list[Stay], cfg: RunConfig, tally: Tally
) -> None:
    """Stream every monitor's messages to ``out_dir/hl7/monitors``; one stay at a time in memory."""
    folder = out_dir / "hl7" / "monitors"
    folder.mkdir(parents=True, exist_ok=True)
    by_monitor: dict[int, list[Stay]] = defaultdict(list)
    for stay in stays:
        if stay.monitor is not None:
            by_monitor[stay.monitor.index].append(stay)
    for monitor in monitors:
        files, seq = DailyFiles(folder, monitor.eui64, tally), 0
        for stay in sorted(by_monitor[monitor.index], key=lambda s: s.admit):
            seq = _write_stay(files, monitor, stay, cfg, tally, seq)
        files.close()

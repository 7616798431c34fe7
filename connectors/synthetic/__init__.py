"""Synthetic hospital, device and wearable data: HL7 v2 and FHIR R4 files for demos and tests.

``generate`` writes, under ``out_dir``::

    hl7/monitors/<EUI64>_<YYYYMMDD>.hl7   ORU^R01 (v2.6, IHE PCD-01) per bedside monitor and day
    hl7/alarms/<EUI64>_<YYYYMMDD>.hl7     ORU^R40 (v2.6, IHE PCD-04) alarms per bedside monitor and day
    hl7/his/adt_<stay>.hl7                ADT A01/A40/A08/A03 (v2.5) per stay, UTF-8 or GB 18030
    fhir/bundles/wearable_<n>_<day>.json  transaction Bundle per wearable and day
    fhir/ndjson/{Patient,Device,Observation}.ndjson   bulk-data NDJSON for the other wearables

Everything is synthetic and deterministic: the same arguments give byte-identical files.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from .census import RunConfig, plan_stays
from .devices import make_monitors, make_wearables
from .fhir_feeds import write_wearable_feeds
from .hl7_adt import write_his_feeds
from .hl7_alarms import write_alarm_feeds
from .hl7_oru import write_monitor_feeds
from .people import make_cohort
from .summary import GenerationSummary, Tally

CHINA = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2026, 11, 1, tzinfo=CHINA)

__all__ = ["DEFAULT_START", "GenerationSummary", "generate"]


def _start(start: datetime | None) -> datetime:
    """The period start in +08:00; a naive datetime is taken as China Standard Time."""
    if start is None:
        return DEFAULT_START
    if start.tzinfo is None:
        return start.replace(tzinfo=CHINA)
    return start.astimezone(CHINA)


def _check(patients: int, days: int, devices: int, obs_interval_minutes: int) -> None:
    if patients < 0 or devices < 0:
        raise ValueError("patients and devices must not be negative")
    if days < 1:
        raise ValueError("days must be at least 1")
    if not 1 <= obs_interval_minutes <= 1440:
        raise ValueError("obs_interval_minutes must be between 1 and 1440")


def generate(
    out_dir: Path,
    patients: int = 50,
    days: int = 2,
    devices: int = 10,
    seed: int = 42,
    start: datetime | None = None,
    obs_interval_minutes: int = 15,
    notes: bool = True,
) -> GenerationSummary:
    """Write a synthetic data set under ``out_dir`` and return what was written, as counts.

    ``devices`` is the number of bedside monitors; about 40 % of patients also wear a watch or ring.
    The period starts at ``start`` (default 2026-11-01 00:00 +08:00, whatever the seed) and lasts
    ``days`` days. Files already in ``out_dir`` with other names are left alone.
    """
    _check(patients, days, devices, obs_interval_minutes)
    out_dir = Path(out_dir)
    begin = _start(start)
    interval = timedelta(minutes=obs_interval_minutes)
    cfg = RunConfig(seed=seed, start=begin, end=begin + timedelta(days=days), interval=interval, notes=notes)
    people = make_cohort(seed, patients, begin.date())
    monitors = make_monitors(seed, devices, int(interval.total_seconds()))
    stays = plan_stays(seed, people, monitors, cfg.start, cfg.end, interval)
    wearables = make_wearables(seed, people)
    tally = Tally()
    write_monitor_feeds(out_dir, monitors, stays, cfg, tally)
    write_alarm_feeds(out_dir, monitors, stays, cfg, tally)
    write_his_feeds(out_dir, stays, cfg, tally)
    write_wearable_feeds(out_dir, wearables, people, cfg, tally)
    return tally.freeze(
        patients=len(people),
        devices=len(monitors),
        wearables=len(wearables),
        stays=len(stays),
        merges=sum(1 for s in stays if s.duplicate_mrn),
    )

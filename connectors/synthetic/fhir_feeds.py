"""Wearable feeds: readings over the whole period, written as daily transaction Bundles or as
bulk-data NDJSON (Patient, Device, Observation), depending on the wearable's channel.

A wearable reports heart rate and SpO2 every 30 minutes, respiration and temperature every
4 hours, and the hourly step count. Files are written one day (bundles) or one line (NDJSON) at a
time.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import BinaryIO

import orjson

from . import fhir
from .census import RunConfig
from .devices import Wearable
from .notes import WEARABLE_NOTE_RATE, wearable_note
from .people import Person
from .summary import Tally
from .vitals import BY_KEY, Metric, VitalStream, baseline

STEP = timedelta(minutes=30)
NDJSON_TYPES = ("Patient", "Device", "Observation")


@dataclass(frozen=True)
class WearableReading:
    """One value from a wearable; ``metric`` is None for the hourly step count."""

    when: datetime
    metric: Metric | None
    value: float
    flag: str
    implausible: bool


def _steps(rng: random.Random, when: datetime) -> int:
    return rng.randint(0, 40) if when.hour < 7 or when.hour >= 23 else rng.randint(0, 1400)


def wearable_readings(
    cfg: RunConfig, wearable: Wearable, person: Person, rng: random.Random
) -> Iterator[WearableReading]:
    """Readings in time order from ``cfg.start`` (plus the wearable's offset) to ``cfg.end``."""
    age = person.age_on(cfg.start.date())
    stream = VitalStream(rng, baseline(cfg.seed, person.index, age), age)
    when, k = cfg.start + timedelta(seconds=wearable.offset_seconds), 0
    while when < cfg.end:
        readings = {r.metric.key: r for r in stream.step()}
        for key in ("hr", "spo2", "rr", "temp") if k % 8 == 0 else ("hr", "spo2"):
            r = readings[key]
            yield WearableReading(when, BY_KEY[key], r.value, r.flag, r.implausible)
        if k % 2 == 1:
            yield WearableReading(when, None, _steps(rng, when), "N", False)
        when, k = when + STEP, k + 1


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _observation(
    reading: WearableReading,
    person: Person,
    patient_ref: str,
    device_ref: str,
    rng: random.Random,
    tally: Tally,
    resource_id: str | None = None,
) -> fhir.Resource:
    note = wearable_note(rng, person) if rng.random() < WEARABLE_NOTE_RATE else None
    tally.fhir_resources["Observation"] += 1
    tally.fhir_observations += 1
    tally.implausible_values += reading.implausible
    tally.notes += note is not None
    return fhir.observation(
        reading.metric, reading.value, reading.flag, reading.when, patient_ref, device_ref, note, resource_id
    )


def _entry(full_url: str, resource: fhir.Resource, if_none_exist: str | None = None) -> fhir.Resource:
    request = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {"fullUrl": full_url, "resource": resource, "request": request}


def _write_bundle(
    path: Path,
    rng: random.Random,
    head: list[fhir.Resource],
    body: list[fhir.Resource],
    stamp: datetime,
    tally: Tally,
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "id": new_uuid(rng),
        "type": "transaction",
        "timestamp": stamp.isoformat(),
        "entry": head + body,
    }
    path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n")
    tally.fhir_files += 1
    for name in ("Bundle", "Patient", "Device"):
        tally.fhir_resources[name] += 1


def write_bundles(folder: Path, cfg: RunConfig, wearable: Wearable, person: Person, tally: Tally) -> None:
    """One transaction Bundle per day: the Patient, the Device and that day's Observations."""
    rng = random.Random(f"{cfg.seed}:bundle:{wearable.index}")  # noqa: S311 - synthetic data
    patient_url, device_url = f"urn:uuid:{new_uuid(rng)}", f"urn:uuid:{new_uuid(rng)}"
    head = [
        _entry(patient_url, fhir.patient(person), f"identifier={fhir.RIC_SYSTEM}|{person.ric}"),
        _entry(
            device_url,
            fhir.device(wearable, patient_url),
            f"identifier={fhir.SERIAL_SYSTEM}|{wearable.serial}",
        ),
    ]
    for day, readings in groupby(wearable_readings(cfg, wearable, person, rng), key=lambda r: r.when.date()):
        body = []
        for reading in readings:
            resource = _observation(reading, person, patient_url, device_url, rng, tally)
            body.append(_entry(f"urn:uuid:{new_uuid(rng)}", resource))
        path = folder / f"wearable_{wearable.index:05d}_{day:%Y%m%d}.json"
        _write_bundle(path, rng, head, body, reading.when, tally)


def write_ndjson(
    handles: dict[str, BinaryIO], cfg: RunConfig, wearable: Wearable, person: Person, tally: Tally
) -> None:
    """Append the wearer's Patient, the Device and all Observations to the open NDJSON files."""
    rng = random.Random(f"{cfg.seed}:ndjson:{wearable.index}")  # noqa: S311 - synthetic data
    patient_id, device_id = new_uuid(rng), new_uuid(rng)
    patient_ref, device_ref = f"Patient/{patient_id}", f"Device/{device_id}"
    handles["Patient"].write(orjson.dumps(fhir.patient(person, patient_id)) + b"\n")
    handles["Device"].write(orjson.dumps(fhir.device(wearable, patient_ref, device_id)) + b"\n")
    tally.fhir_resources["Patient"] += 1
    tally.fhir_resources["Device"] += 1
    for reading in wearable_readings(cfg, wearable, person, rng):
        resource = _observation(reading, person, patient_ref, device_ref, rng, tally, new_uuid(rng))
        handles["Observation"].write(orjson.dumps(resource) + b"\n")


def write_wearable_feeds(
    out_dir: Path, wearables: list[Wearable], people: list[Person], cfg: RunConfig, tally: Tally
) -> None:
    """Bundles to ``out_dir/fhir/bundles``, NDJSON to ``out_dir/fhir/ndjson``."""
    bundles, ndjson = out_dir / "fhir" / "bundles", out_dir / "fhir" / "ndjson"
    bundles.mkdir(parents=True, exist_ok=True)
    ndjson.mkdir(parents=True, exist_ok=True)
    handles: dict[str, BinaryIO] = {name: (ndjson / f"{name}.ndjson").open("wb") for name in NDJSON_TYPES}
    try:
        for wearable in wearables:
            person = people[wearable.person_index]
            if wearable.channel == "bundle":
                write_bundles(bundles, cfg, wearable, person, tally)
            else:
                write_ndjson(handles, cfg, wearable, person, tally)
    finally:
        for handle in handles.values():
            handle.close()
    tally.fhir_files += len(handles)

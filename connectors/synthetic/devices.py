"""Synthetic devices: bedside monitors placed at ICU/CCU beds, and wearables worn by some patients.

EUI-64 identifiers use the locally administered bit (first octet 0x02), so no synthetic identifier
can collide with a real manufacturer's address block.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .people import Person

MONITORED_WARDS = ("ICU-1", "ICU-2", "CCU", "EICU")
MONITOR_MODELS = (
    ("Mindray", "BeneVision N17", "FA"),
    ("Philips", "IntelliVue MX800", "DE"),
    ("GE Healthcare", "CARESCAPE B650", "SGB"),
)
WEARABLE_MODELS = (
    ("watch", "华为", "HUAWEI WATCH GT 5"),
    ("watch", "小米", "Xiaomi Smart Band 9"),
    ("watch", "华米", "Amazfit Balance"),
    ("ring", "华米", "Amazfit Helio Ring"),
    ("ring", "RingConn", "RingConn Gen 2"),
)
WEARABLE_SHARE = 0.4


@dataclass(frozen=True)
class Monitor:
    """A bedside patient monitor and the bed it is fixed to."""

    index: int
    eui64: str
    serial: str
    manufacturer: str
    model: str
    ward: str
    room: str
    bed: str
    offset_seconds: int  # where in each reporting interval this monitor sends


@dataclass(frozen=True)
class Wearable:
    """A watch or ring worn by one patient; ``channel`` is how it reaches us: bundle or ndjson."""

    index: int
    serial: str
    kind: str
    manufacturer: str
    model: str
    person_index: int
    channel: str
    offset_seconds: int


def make_monitors(seed: int, count: int, interval_seconds: int) -> list[Monitor]:
    """``count`` monitors spread round-robin over the monitored wards, two beds per room."""
    rng = random.Random(f"{seed}:monitors")  # noqa: S311 - synthetic data, not security
    monitors = []
    for index in range(count):
        manufacturer, model, prefix = rng.choice(MONITOR_MODELS)
        bed_no = index // len(MONITORED_WARDS) + 1
        eui = f"02{rng.getrandbits(16):04X}FFFE{rng.getrandbits(24):06X}"
        monitors.append(
            Monitor(
                index=index,
                eui64=eui,
                serial=f"{prefix}{rng.randrange(10**8):08d}",
                manufacturer=manufacturer,
                model=model,
                ward=MONITORED_WARDS[index % len(MONITORED_WARDS)],
                room=f"{(bed_no + 1) // 2:02d}",
                bed=f"{bed_no:02d}",
                offset_seconds=rng.randrange(min(interval_seconds, 600)),
            )
        )
    return monitors


def make_wearables(seed: int, people: list[Person]) -> list[Wearable]:
    """One wearable for about 40 % of patients (at least one when there are patients).

    Wearables alternate between the two channels, so both FHIR outputs exist as soon as two do.
    """
    rng = random.Random(f"{seed}:wearables")  # noqa: S311 - synthetic data, not security
    wearers = [p for p in people if rng.random() < WEARABLE_SHARE]
    if people and not wearers:
        wearers = [people[0]]
    wearables = []
    for index, person in enumerate(wearers):
        kind, manufacturer, model = rng.choice(WEARABLE_MODELS)
        serial = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(16))
        wearables.append(
            Wearable(
                index=index,
                serial=serial,
                kind=kind,
                manufacturer=manufacturer,
                model=model,
                person_index=person.index,
                channel="bundle" if index % 2 == 0 else "ndjson",
                offset_seconds=rng.randrange(1800),
            )
        )
    return wearables

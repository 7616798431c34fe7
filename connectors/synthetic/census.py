"""Who lies in which bed when: one hospital stay per patient, updates and duplicate registrations.

Monitored beds are filled one stay after another (with cleaning gaps) from a shuffled queue of
patients; patients left over stay in general wards without a monitor. A few monitored stays start
under a duplicate MRN that the HIS merges into the patient's real MRN (ADT^A40) during the stay.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .devices import Monitor
from .people import Person, mobile_number, street_address

DOCTORS = (
    ("D001", "李", "明"),
    ("D002", "王", "建华"),
    ("D003", "陈", "静"),
    ("D004", "张", "伟"),
    ("D005", "刘", "洋"),
    ("D006", "赵", "丽华"),
)
GENERAL_WARDS = ("CARD-W", "RESP-W", "NEUR-W")
SERVICES = {"ICU-1": "ICU", "ICU-2": "ICU", "EICU": "ICU", "CCU": "CAR"}
MERGE_SHARE = 0.06
UPDATE_SHARE = 0.4


@dataclass(frozen=True)
class RunConfig:
    """The generated period [start, end), the monitor reporting interval and the options of a run."""

    seed: int
    start: datetime
    end: datetime
    interval: timedelta
    notes: bool


@dataclass(frozen=True)
class Stay:
    """One admission: patient, bed (and its monitor, if any), times, A08 update and A40 merge."""

    index: int
    visit: str
    person: Person
    ward: str
    room: str
    bed: str
    monitor: Monitor | None
    doctor: tuple[str, str, str]
    admit: datetime
    discharge: datetime | None
    update_time: datetime | None = None
    updated: Person | None = None
    update_kind: str | None = None
    merge_time: datetime | None = None
    duplicate_mrn: str | None = None

    @property
    def service(self) -> str:
        return SERVICES.get(self.ward, "MED")

    def person_at(self, when: datetime) -> Person:
        """The registration as the HIS holds it at ``when`` (after an A08, the updated one)."""
        if self.updated is not None and self.update_time is not None and when >= self.update_time:
            return self.updated
        return self.person

    def identity_at(self, when: datetime) -> tuple[str, str | None]:
        """(MRN, resident ID or None): a duplicate registration carries no resident ID."""
        if self.duplicate_mrn and self.merge_time and when < self.merge_time:
            return self.duplicate_mrn, None
        return self.person.mrn, self.person.ric


def _monitored_stays(
    rng: random.Random, queue: deque[Person], monitors: list[Monitor], start: datetime, end: datetime
) -> list[Stay]:
    stays: list[Stay] = []
    for monitor in monitors:
        when = start + timedelta(minutes=rng.uniform(0, 180))
        while queue and when < end - timedelta(hours=1):
            leave = when + timedelta(hours=rng.uniform(8, 40))
            stays.append(
                Stay(
                    index=len(stays),
                    visit="",
                    person=queue.popleft(),
                    ward=monitor.ward,
                    room=monitor.room,
                    bed=monitor.bed,
                    monitor=monitor,
                    doctor=rng.choice(DOCTORS),
                    admit=when,
                    discharge=leave if leave <= end else None,
                )
            )
            when = leave + timedelta(hours=rng.uniform(1, 4))
    return stays


def _ward_stays(
    rng: random.Random, queue: deque[Person], first_index: int, start: datetime, end: datetime
) -> list[Stay]:
    stays: list[Stay] = []
    beds: dict[str, int] = {}
    span_minutes = max((end - start).total_seconds() / 60 - 120, 1)
    for person in queue:
        ward = rng.choice(GENERAL_WARDS)
        beds[ward] = beds.get(ward, 0) + 1
        admit = start + timedelta(minutes=rng.uniform(0, span_minutes))
        leave = admit + timedelta(hours=rng.uniform(24, 120))
        stays.append(
            Stay(
                index=first_index + len(stays),
                visit="",
                person=person,
                ward=ward,
                room=f"{(beds[ward] + 2) // 3:02d}",
                bed=f"{beds[ward]:02d}",
                monitor=None,
                doctor=rng.choice(DOCTORS),
                admit=admit,
                discharge=leave if leave <= end else None,
            )
        )
    return stays


def _with_update(rng: random.Random, stay: Stay, end: datetime) -> Stay:
    """An A08 halfway through some stays: a new mobile number or a move within the same city."""
    if rng.random() >= UPDATE_SHARE:
        return stay
    after = stay.merge_time or stay.admit
    when = after + (min(stay.discharge or end, end) - after) * rng.uniform(0.2, 0.8)
    if rng.random() < 0.5:
        return replace(
            stay,
            update_time=when,
            update_kind="phone",
            updated=replace(stay.person, mobile=mobile_number(rng)),
        )
    street = street_address(rng, stay.person.region)
    return replace(stay, update_time=when, update_kind="address", updated=replace(stay.person, street=street))


def _with_merges(rng: random.Random, stays: list[Stay], end: datetime, interval: timedelta) -> list[Stay]:
    """Give a few long-enough monitored stays a duplicate MRN merged away during the stay."""
    earliest = max(timedelta(hours=2), 3 * interval)
    eligible = [s for s in stays if s.monitor and (s.discharge or end) - s.admit > earliest + 2 * interval]
    if not eligible:
        return stays
    chosen = rng.sample(eligible, max(1, round(MERGE_SHARE * len(eligible))))
    duplicates = rng.sample(range(60_000_000, 100_000_000), len(chosen))
    merged = {}
    for stay, mrn in zip(chosen, duplicates, strict=True):
        latest = min(timedelta(hours=12), ((stay.discharge or end) - stay.admit) - 2 * interval)
        offset = earliest + (latest - earliest) * rng.random()
        merged[stay.index] = replace(stay, merge_time=stay.admit + offset, duplicate_mrn=f"{mrn:08d}")
    return [merged.get(s.index, s) for s in stays]


def plan_stays(
    seed: int,
    people: list[Person],
    monitors: list[Monitor],
    start: datetime,
    end: datetime,
    interval: timedelta,
) -> list[Stay]:
    """One stay per patient between ``start`` and ``end``; stays still open at ``end`` have no discharge."""
    rng = random.Random(f"{seed}:census")  # noqa: S311 - synthetic data, not security
    queue = deque(people)
    rng.shuffle(queue)
    stays = _monitored_stays(rng, queue, monitors, start, end)
    stays += _ward_stays(rng, queue, len(stays), start, end)
    stays = _with_merges(rng, stays, end, interval)
    return [
        replace(_with_update(rng, stay, end), visit=f"{stay.admit:%y%m%d}{stay.index:05d}") for stay in stays
    ]

"""HIS feeds: HL7 v2.5 ADT per stay (A01 admit, A40 merge, A08 update, A03 discharge).

One file per stay, all its messages in one charset: about one file in five is declared
``GB 18030-2000`` in MSH-18 and encoded in gb18030, the rest UTF-8.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from .census import RunConfig, Stay
from .hl7_segments import MRN_AUTHORITY, address, esc, hl7_ts, msh, pid, pv1, segment
from .people import Person
from .summary import Tally

SENDING_APP = "HIS^1.2.156.112604.1.2^ISO"
MESSAGE_TYPES = {
    "A01": "ADT^A01^ADT_A01",
    "A08": "ADT^A08^ADT_A01",
    "A03": "ADT^A03^ADT_A03",
    "A40": "ADT^A40^ADT_A39",
}
GB18030_SHARE = 0.2
_KIN_AT_HOME = ("SPO", "FTH", "MTH")


def nk1(person: Person) -> str:
    kin = person.kin
    return segment(
        "NK1",
        {
            1: "1",
            2: f"{esc(kin.family)}^{esc(kin.given)}^^^^^L",
            3: f"{kin.relation}^{kin.relation_text}^HL70063",
            4: address(person) if kin.relation in _KIN_AT_HOME else "",
            5: f"^PRN^CP^^^^^^^^^{kin.phone}",
        },
    )


def in1(person: Person) -> str | None:
    if person.insurance is None:
        return None
    code, plan, number = person.insurance
    region = person.region
    return segment(
        "IN1",
        {
            1: "1",
            2: f"{code}^{plan}^99NHSA",
            3: f"{region.code[:4]}00^^^NHSA",
            4: f"{region.city}医疗保障局",
            17: "SEL^本人^HL70063",
            36: number,
        },
    )


def adt_message(stay: Stay, event: str, when: datetime, sent: datetime, control_id: str, charset: str) -> str:
    """One ADT message for ``event`` at ``when``, with PID as the HIS holds it at that moment."""
    person = stay.person_at(when)
    mrn, ric = stay.identity_at(when - timedelta(microseconds=1) if event == "A40" else when)
    segments = [
        msh(SENDING_APP, "HUAKANG", sent, MESSAGE_TYPES[event], control_id, "2.5", charset),
        segment("EVN", {1: event, 2: hl7_ts(sent), 6: hl7_ts(when)}),
    ]
    if event == "A40":
        segments += [
            pid(person, person.mrn, person.ric),
            segment("MRG", {1: f"{mrn}^^^{MRN_AUTHORITY}^MR"}),
            pv1(stay),
        ]
    else:
        segments += [pid(person, mrn, ric)]
        segments += [nk1(person)] if event in ("A01", "A08") else []
        segments += [pv1(stay, discharged=when if event == "A03" else None)]
        insurance = in1(person) if event in ("A01", "A08") else None
        segments += [insurance] if insurance else []
    return "\r".join(segments) + "\r\n"


def stay_events(stay: Stay) -> list[tuple[datetime, str]]:
    """(time, trigger event) of a stay in time order."""
    events = [(stay.admit, "A01")]
    if stay.merge_time:
        events.append((stay.merge_time, "A40"))
    if stay.update_time:
        events.append((stay.update_time, "A08"))
    if stay.discharge:
        events.append((stay.discharge, "A03"))
    return sorted(events)


def write_stay_file(folder: Path, stay: Stay, charset: str, rng: random.Random, tally: Tally) -> None:
    path = folder / f"adt_{stay.index:05d}.hl7"
    with path.open("w", encoding=charset, newline="") as handle:
        for number, (when, event) in enumerate(stay_events(stay), start=1):
            sent = when + timedelta(seconds=rng.randint(1, 30))
            handle.write(adt_message(stay, event, when, sent, f"H{stay.index:06d}{number:02d}", charset))
            tally.hl7_messages[f"ADT^{event}"] += 1
    tally.hl7_files += 1


def write_his_feeds(out_dir: Path, stays: list[Stay], cfg: RunConfig, tally: Tally) -> None:
    """Write one ADT file per stay to ``out_dir/hl7/his``; a fifth of the files in gb18030."""
    folder = out_dir / "hl7" / "his"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{cfg.seed}:adt")  # noqa: S311 - synthetic data, not security
    gb_files = (
        set(rng.sample(range(len(stays)), max(1, round(GB18030_SHARE * len(stays))))) if stays else set()
    )
    for stay in stays:
        write_stay_file(folder, stay, "gb18030" if stay.index in gb_files else "utf-8", rng, tally)

"""The total casts of staging (dbt_project/macros/casts.sql) against an oracle of their own: Python's calendar.

Each macro is rendered to SQL and run by PostgreSQL over every day of four centuries and thousands of hostile
strings. No value may raise; a value is non-null exactly when Python's datetime (or float) accepts it under the
HL7 DTM / FHIR dateTime rules, and then equals what Python computes."""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import jinja2

from orchestration.warehouse.database import connect

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros"
LOCAL = dt.timezone(dt.timedelta(hours=8))  # var default_utc_offset


def render(call: str) -> str:
    source = (MACROS / "casts.sql").read_text() + (MACROS / "hl7" / "hl7.sql").read_text() + "{{ " + call + " }}"
    return jinja2.Environment().from_string(source).render(var=lambda name: "+0800").strip()


def evaluate(settings, call: str, values: list[str]) -> dict[str, object]:
    with connect(settings, "pipeline") as conn:
        rows = conn.execute(f"select v, {render(call)} from unnest(%s::text[]) as v", (values,)).fetchall()  # noqa: S608 - a test renders the macro under test; values go as parameters
    return dict(rows)


def every_day() -> list[dt.date]:
    start = dt.date(1800, 1, 1)
    return [start + dt.timedelta(days=n) for n in range((dt.date(2200, 1, 1) - start).days)]


def day_strings(rng: random.Random, n: int) -> list[str]:
    """Eight digits of every kind: real days, day 00/29/30/31/32 of each month, month 00/13, year 0000."""
    out = []
    for _ in range(n):
        y = rng.choice([0, 1, 4, 100, 400, 1600, 1700, 1900, 2000, 2024, 2026, 2100, 9999, rng.randrange(10000)])
        out.append(f"{y:04d}{rng.randrange(0, 14):02d}{rng.choice([0, 1, 28, 29, 30, 31, 32, rng.randrange(100)]):02d}")
    return out


def python_day(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def test_hl7_date_over_every_day_and_impossible_ones(settings, initialised):
    rng = random.Random(1)
    days = [d.strftime("%Y%m%d") for d in every_day()] + day_strings(rng, 5000)
    days += [d + rest for d in days[:300] for rest in ("", "1200", "x", "240000+9999")]
    got = evaluate(settings, "hl7_date('v')", days)
    assert got == {d: python_day(d[:8]) for d in days}


def python_dtm(text: str) -> dt.datetime | None:
    """HL7 DTM by its own rules: 8/10/12/14 digits, .S{1,4} only after seconds, ±HHMM offset with HH ≤ 14."""
    m = re.fullmatch(r"(\d{8})(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?", text)
    if not m or (m.group(3) and not m.group(2)) or (m.group(5) and not m.group(4)):
        return None
    day = python_day(m.group(1))
    hour, minute, second = (int(g) if g else 0 for g in m.group(2, 3, 4))
    if day is None or hour > 23 or minute > 59 or second > 59:
        return None
    zone = LOCAL
    if m.group(6):
        sign, hh, mm = (1 if m.group(6)[0] == "+" else -1), int(m.group(6)[1:3]), int(m.group(6)[3:])
        if hh > 14 or mm > 59:
            return None
        zone = dt.timezone(sign * dt.timedelta(hours=hh, minutes=mm))
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)


def dtm_strings(rng: random.Random, n: int) -> list[str]:
    out = []
    for day in day_strings(rng, n):
        time = "".join(f"{rng.randrange(0, 62):02d}" for _ in range(rng.randrange(0, 4)))
        fraction = rng.choice(["", "", ".5", ".1234", ".12345"])
        zone = rng.choice(["", "", f"{rng.choice('+-')}{rng.randrange(0, 17):02d}{rng.randrange(0, 62):02d}",
                           "+9999", "Z", "+08"])
        out.append(day + time + fraction + zone)
    return out


def test_hl7_ts_never_raises_and_agrees_with_python(settings, initialised):
    rng = random.Random(2)
    values = dtm_strings(rng, 20000) + ["20261101240000+0800", "20261101090000+9999", "19901340", "2026110109",
                                       "20261101090000+1400", "20261101090000-1459", "99991231235959+1400"]
    got = evaluate(settings, "hl7_ts('v')", values)
    mismatched = {v: (got[v], python_dtm(v)) for v in values if got[v] != python_dtm(v)}
    assert mismatched == {}
    assert sum(g is not None for g in got.values()) > 1000  # the oracle is not vacuous


def python_fhir(text: str, date_only: bool = False) -> object:
    pattern = (r"(\d{4})-(\d{2})-(\d{2})" if date_only else
               r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?")
    m = re.fullmatch(pattern, text)
    if not m:
        return None
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    if date_only:
        return day
    hour, minute, second = (int(g) if g else 0 for g in m.group(4, 5, 6))
    zone = dt.UTC
    if m.group(8) and m.group(8) != "Z":
        hh, mm = int(m.group(8)[1:3]), int(m.group(8)[4:])
        if hh > 14 or mm > 59:
            return None
        zone = dt.timezone((1 if m.group(8)[0] == "+" else -1) * dt.timedelta(hours=hh, minutes=mm))
    if hour > 23 or minute > 59 or second > 59:
        return None
    micro = round(float(m.group(7)) * 1e6) if m.group(7) else 0
    if micro >= 1_000_000:
        return None  # a fraction that rounds to the next second: left out of the comparison below
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=zone)


def test_fhir_ts_and_date_never_raise_and_agree_with_python(settings, initialised):
    rng = random.Random(3)
    values = []
    for day in day_strings(rng, 8000):
        iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        values.append(iso)
        values.append(iso + rng.choice(["", "T10:00", "T24:00:00Z", "T10:00:60Z", "T23:59:59.123456Z",
                                        f"T{rng.randrange(26):02d}:{rng.randrange(62):02d}:{rng.randrange(62):02d}"
                                        f"{rng.choice(['Z', '+08:00', '+99:00', '-14:00', '+15:00', ''])}"]))
    values += ["2026-02-30T10:00:00Z", "1990-02-30", "2026", "2026-11", "2026-11-01T10:00:00+99:00"]
    got_ts = evaluate(settings, "fhir_ts('v')", values)
    got_date = evaluate(settings, "fhir_date('v')", values)
    assert {v: got_ts[v] for v in values if got_ts[v] != python_fhir(v)} == {}
    assert {v: got_date[v] for v in values if got_date[v] != python_fhir(v, date_only=True)} == {}


NUMBERS = {  # text → the double it gives, or None: out of double's range (exponents beyond ±300), not finite, or
    # not decimal notation; plain decimals of 300 characters or more and mantissas of over 80 digits are refused too
    "72": 72.0, " 72 ": 72.0, "+.5": 0.5, "72.": 72.0, "-0": 0.0, "1e308": None, "1e300": 1e300, "1e-300": 1e-300,
    "2.5e-308": None, "1e999": None, "-1e999": None, "1e-999": None, "0e999": 0.0, "9" * 400: None,
    "0." + "0" * 400 + "1": None, "1" * 299: float("1" * 299), "1" * 300: None, "1" + "0" * 41 + "e1": 1e42,
    "1" + "0" * 90 + "e1": None,
    "NaN": None, "Infinity": None, "1e": None, "--1": None, "0x1F": None, "1,5": None, "１２３": None, "": None,
}


def test_to_double_never_raises_and_reads_what_python_reads(settings, initialised):
    got = evaluate(settings, "to_double('v')", list(NUMBERS))
    assert got == NUMBERS

"""Every blocking quality expectation fails once on purpose: each runs (as Great Expectations runs it, its one
SQL query) over a scratch copy of its table holding only rows planted to break it, and must fail; over an empty
copy it must pass. The plantings are written from what each expectation promises to catch (the issue's list),
not from its query; a blocking expectation with no planting here fails the test, so a new one needs one."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import sql

from expectations.checks import Check, verdict
from expectations.reference import unit_mixups, vital_ranges
from expectations.suites import all_checks
from orchestration.warehouse.database import connect

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
_ids = itertools.count()


class Scratch:
    """Empty temporary copies of the vitals and encounters facts, and a planting helper from real template rows."""

    def __init__(self, conn) -> None:
        self.conn = conn
        conn.execute("create temp table planted_vitals (like clinical.fct_vital_signs)")
        conn.execute("create temp table planted_encounters (like clinical.fct_encounters)")
        cur = conn.execute("select * from clinical.fct_vital_signs where source = 'hl7' and device_key is not null "
                           "and loinc_code = '8867-4' limit 1")
        self.vital = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
        cur = conn.execute("select * from clinical.fct_encounters where admit_at is not null limit 1")
        self.encounter = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))

    def reset(self) -> None:
        self.conn.execute("truncate planted_vitals, planted_encounters")

    def vitals(self, *rows: dict) -> None:
        for overrides in rows:
            row = {**self.vital, "observation_key": f"planted:{next(_ids)}", "observed_at": T0, **overrides}
            self._insert("planted_vitals", row)

    def encounters(self, **overrides) -> None:
        self._insert("planted_encounters", {**self.encounter, "encounter_key": f"planted:{next(_ids)}", **overrides})

    def _insert(self, table: str, row: dict) -> None:
        self.conn.execute(sql.SQL("insert into {} ({}) values ({})").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row))), list(row.values()))


def run(scratch: Scratch, check: Check) -> bool:
    table = "planted_encounters" if check.asset == ("clinical", "fct_encounters") else "planted_vitals"
    cur = scratch.conn.execute(check.sql(f"pg_temp.{table}"))
    names = [c.name for c in cur.description]
    return verdict([dict(zip(names, r, strict=True)) for r in cur.fetchall()])


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def mixed_up_value() -> tuple[str, str, float]:
    """A value sent in the unit it is confused with: implausible as labelled, plausible once converted."""
    ranges = {(r.loinc_code, r.ucum_unit): r for r in vital_ranges()}
    for m in unit_mixups():
        r = ranges.get((m.loinc_code, m.ucum_unit))
        if r and m.factor > 0:
            value = ((r.low + r.high) / 2 - m.offset) / m.factor
            if not r.low <= value <= r.high:
                return m.loinc_code, m.ucum_unit, value
    raise AssertionError("no unit mix-up in the reference can be planted")


def plant(scratch: Scratch, check: Check) -> None:
    """Rows that break `check`, chosen by what its name promises."""
    name = check.name
    for r in vital_ranges():
        if name.startswith(f"{r.vital_name} in {r.ucum_unit} within"):
            return scratch.vitals(*[{"loinc_code": r.loinc_code, "unit": r.ucum_unit, "value_num": r.high * 1000 + 1e5,
                                     "observed_at": minutes(i)} for i in range(20)])
    if name == "unit consistent with code":
        return scratch.vitals({"unit": "[furlong]"})
    if name == "numeric value":
        return scratch.vitals({"value_num": float("nan")})
    if name == "no unit mix-up":
        code, unit, value = mixed_up_value()
        return scratch.vitals(*[{"loinc_code": code, "unit": unit, "value_num": value, "observed_at": minutes(i)}
                                for i in range(20)])
    if name.startswith("NIBP"):  # each plausible alone, in the wrong order together
        return scratch.vitals(*[{"loinc_code": code, "unit": "mm[Hg]", "value_num": value, "observed_at": minutes(i)}
                                for i in range(10) for code, value in (("8480-6", 90), ("8478-0", 95), ("8462-4", 100))])
    if name == "not in the future":
        return scratch.vitals({"observed_at": datetime.now(UTC) + timedelta(days=1)})
    if name == "not before birth":
        return scratch.vitals({"age_at_event": -1})
    if name.startswith("one observation per"):
        return scratch.vitals({"observation_key": "planted:dup-a"}, {"observation_key": "planted:dup-b"})
    if name == "patient and device exist":
        return scratch.vitals({"patient_key": "no-such-patient"})
    if name == "encounter times ordered":
        return scratch.encounters(admit_at=T0, discharge_at=T0 - timedelta(hours=1))
    if name == "rate of change possible":  # plausible values, impossible jumps a minute apart
        return scratch.vitals(*[{"value_num": 30 if i % 2 else 290, "observed_at": minutes(i)} for i in range(12)])
    if name == "no flat line":
        return scratch.vitals(*[{"value_num": 71, "observed_at": minutes(i)} for i in range(200)])
    if name == "one device of a kind per patient":
        kind, second = scratch.conn.execute(
            "select d.device_kind, (select o.device_key from clinical.dim_devices o where o.device_kind = d.device_kind "
            "and o.device_key <> d.device_key limit 1) from clinical.dim_devices d where d.device_key = %s",
            (scratch.vital["device_key"],)).fetchone()
        assert second, f"no second device of kind {kind} to plant"
        return scratch.vitals(*[{"device_key": device, "observed_at": minutes(15 * i)}
                                for i in range(8) for device in (scratch.vital["device_key"], second)])
    raise AssertionError(f"no planting for blocking expectation {check.suite}/{name}: add one")


BLOCKING = [c for c in all_checks() if c.blocking]


@pytest.fixture(scope="module")
def scratch(built, settings):
    with connect(settings, "pipeline") as conn:
        yield Scratch(conn)
        conn.rollback()


def test_there_are_blocking_expectations_in_every_vital_suite():
    assert {c.suite for c in BLOCKING} >= {"physiology", "time", "integrity", "injected"}


@pytest.mark.parametrize("check", BLOCKING, ids=[f"{c.suite}/{c.name}" for c in BLOCKING])
def test_each_blocking_expectation_fails_once_on_purpose(scratch, check):
    scratch.reset()
    assert run(scratch, check), "passes over an empty table"
    plant(scratch, check)
    assert not run(scratch, check), "did not fail on rows planted to break it"

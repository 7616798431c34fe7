"""The quality suites as data: every expectation declared once with a valid severity, reference rows that cover
what the pipeline maps, faults parsed with clear errors. No database (tests/integration/test_quality.py runs them)."""

import csv
from pathlib import Path

import pytest

from connectors.synthetic.faults import FAULTS, parse_faults
from expectations.checks import RELATION, verdict
from expectations.reference import mixup_sql, vital_ranges
from expectations.suites import all_checks, quality_suites

SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "vital_sign_codes.csv"


def test_every_expectation_is_named_once_with_a_severity_and_reads_its_batch():
    checks = all_checks()
    assert set(quality_suites()) == {"physiology", "time", "integrity", "injected", "landing"}
    assert len({(c.suite, c.name) for c in checks}) == len(checks)
    assert {c.severity for c in checks} == {"blocking", "warning"}
    for c in checks:
        assert RELATION in c.query and "join" in c.query, c.name  # GX renders {batch} bare only in a join (checks.GX_JOIN)
        assert RELATION not in c.sql()


def test_one_range_expectation_per_reference_row():
    names = {c.name for c in all_checks("physiology")}
    for r in vital_ranges():
        assert f"{r.vital_name} in {r.ucum_unit} within {r.low:g} to {r.high:g}" in names


def test_reference_covers_every_code_and_unit_the_pipeline_maps():
    """Independent of the dbt seed, but never narrower: a mapped vital sign always has a range here."""
    pairs = {(r.loinc_code, r.ucum_unit) for r in vital_ranges()}
    with SEED.open() as handle:
        mapped = {(row["loinc_code"], row["ucum_unit"]) for row in csv.DictReader(handle)}
    assert mapped <= pairs


def test_mixup_windows_cover_fahrenheit_and_kilopascal():
    sql = mixup_sql("v")
    assert "'8310-5'" in sql and "'8480-6'" in sql


def test_verdict_tolerates_up_to_the_allowed_count():
    assert verdict([])
    assert verdict([{"unexpected": 5, "allowed": 5}])
    assert not verdict([{"unexpected": 0, "allowed": 0}, {"unexpected": 6, "allowed": 5}])


def test_unknown_fault_is_named():
    assert parse_faults("out_of_range, unit_mixup") == ["out_of_range", "unit_mixup"]
    assert parse_faults("") == []
    with pytest.raises(ValueError, match="'heat_wave'"):
        parse_faults("out_of_range,heat_wave")
    assert len(FAULTS) == 5


def test_an_unknown_suite_is_refused():
    with pytest.raises(ValueError, match="unknown suite"):
        all_checks("nonsense")

"""The `year_only` date profile (HIPAA Safe Harbor): every published time is 1 January 00:00 UTC of its real
year (ages above 89 are one band: test_analyst_marts.py, where k lets bands show); an unknown profile refuses to build. The release is rebuilt as it was
afterwards (switching profiles needs --full-refresh of analytics: vital_signs is incremental)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from publishing import publish_release

from orchestration.project import DBT_PROJECT_DIR, prepare_manifest
from orchestration.resources import dbt_environment
from orchestration.warehouse.database import connect

DBT = str(Path(sys.executable).with_name("dbt"))


def _dbt(settings, keyring, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **dbt_environment(settings, keyring)}
    return subprocess.run([DBT, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
                          capture_output=True, text=True, env=env, timeout=600)


def _time_columns() -> list[tuple[str, str]]:
    manifest = json.loads(prepare_manifest().read_text())
    return [(n["name"], c) for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1] == "analytics"
            for c, d in n["columns"].items() if d.get("data_type") == "timestamptz"]


@pytest.fixture(scope="module")
def year_only(built, settings, keyring):
    result = _dbt(settings, keyring, "run", "--select", "analytics", "--full-refresh",
                  "--vars", "{date_profile: year_only}")
    assert result.returncode == 0, result.stdout[-3000:]
    publish_release(settings)  # as a passing run's publication step does
    yield
    assert _dbt(settings, keyring, "run", "--select", "analytics", "--full-refresh").returncode == 0
    publish_release(settings)


def test_every_published_time_is_reduced_to_its_year(year_only, settings):
    columns = _time_columns()
    assert len(columns) >= 5
    with connect(settings, "analyst", autocommit=True) as conn:
        conn.execute("set timezone = 'America/St_Johns'")  # the reader's zone changes nothing
        for model, column in columns:
            total, off_year = conn.execute(
                f"select count({column}), count(*) filter (where {column} at time zone 'UTC' "
                f"<> date_trunc('year', {column} at time zone 'UTC')) from analytics.{model}").fetchone()
            assert off_year == 0, (model, column)
            assert total > 0 or model == "alarms", (model, column)
    with connect(settings, "pipeline") as conn:  # the year is the real year (no shift across the new year)
        moved = conn.execute("""
            select count(*) from analytics.vital_signs a
            where not exists (select 1 from clinical.fct_vital_signs f where f.patient_key = a.patient_key
                              and extract(year from f.observed_at at time zone 'UTC')
                                  = extract(year from a.observed_at at time zone 'UTC'))""").fetchone()[0]
    assert moved == 0


def test_an_unknown_profile_refuses_to_build(built, settings, keyring):
    result = _dbt(settings, keyring, "compile", "--select", "analytics.vital_signs", "--vars", "{date_profile: month}")
    assert result.returncode != 0
    assert "rule privacy.date_profile" in result.stdout


def test_local_times_are_reduced_to_the_year_too(year_only, settings):
    """The hospital-clock columns (issue 14) carry no clock time beside a year-only date."""
    with connect(settings, "analyst") as conn:
        for table, column in (("vital_signs", "observed_at"), ("alarms", "alarm_at")):
            off = conn.execute(f"select count(*) filter (where {column}_local <> date_trunc('year', {column}_local) "
                               f"or {column}_local <> ({column} at time zone 'UTC')) from analytics.{table}"
                               ).fetchone()[0]
            assert off == 0, (table, column)

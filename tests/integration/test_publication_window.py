"""No row of a build is readable by the release's readers before every blocking check of that build passed:
dbt grants nothing in the release schemas, they have no default privileges, and a build revokes SELECT on a
release table in the same transaction as it writes into it (also the incremental insert into analytics.vital_signs,
a table the analyst already reads). Publication grants it back; a failed check leaves it closed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from connectors.ingest import ingest_paths
from orchestration.project import DBT_PROJECT_DIR
from orchestration.publication import RELEASE, publish
from orchestration.resources import dbt_environment
from orchestration.runner import run_everything
from orchestration.warehouse.database import connect

DBT = str(Path(sys.executable).with_name("dbt"))
ROLE_LOGIN = {"wardflow_analyst": "analyst", "wardflow_reader": "reader"}


def _dbt(args: list[str], settings, keyring) -> subprocess.CompletedProcess:
    env = {**os.environ, **dbt_environment(settings, keyring)}
    return subprocess.run([DBT, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
                          capture_output=True, text=True, env=env, timeout=900)


def _release_tables(settings) -> list[tuple[str, str]]:
    with connect(settings, "pipeline") as conn:
        return conn.execute("select schemaname, tablename from pg_tables where schemaname = any(%s) order by 1, 2",
                            (list(RELEASE),)).fetchall()


def _readable(settings) -> dict[str, bool]:
    """schema.table → whether its reader (analyst for analytics, reader for aggregates) can select from it."""
    out = {}
    for schema, table in _release_tables(settings):
        with connect(settings, ROLE_LOGIN[RELEASE[schema]]) as conn:
            try:
                conn.execute(f'select 1 from "{schema}"."{table}" limit 1').fetchall()
                out[f"{schema}.{table}"] = True
            except psycopg.errors.InsufficientPrivilege:
                out[f"{schema}.{table}"] = False
    return out


@pytest.fixture(scope="module")
def published(built, settings):
    """The template's build, published (what a passing run leaves)."""
    assert all(_readable(settings).values()), _readable(settings)
    return settings


def test_release_roles_have_no_default_privileges(published, settings):
    with connect(settings, "pipeline") as conn:
        rows = conn.execute("""
            select n.nspname, pg_catalog.array_to_string(d.defaclacl, ',')
            from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace
            where n.nspname = any(%s)""", (list(RELEASE),)).fetchall()
    assert not [r for r in rows if "wardflow_analyst" in r[1] or "wardflow_reader" in r[1]], rows


def test_a_rebuilt_release_table_is_closed_until_published(published, settings, keyring):
    result = _dbt(["run", "--select", "analytics.patients", "aggregates"], settings, keyring)
    assert result.returncode == 0, result.stdout[-3000:]
    readable = _readable(settings)
    assert readable["analytics.patients"] is False and readable["aggregates.vital_signs_summary"] is False
    with connect(settings, "pipeline") as conn:
        publish(conn)
    assert all(_readable(settings).values())


def test_an_incremental_insert_is_not_readable_before_publication(published, settings, keyring, tmp_path):
    """New readings appended to analytics.vital_signs (a table the analyst reads) close it in the same transaction."""
    from connectors.synthetic import generate

    generate(tmp_path, patients=3, days=1, devices=1, seed=1234)
    with connect(settings, "pipeline") as conn:
        assert ingest_paths([tmp_path / "hl7"], conn, keyring).counts.landed > 0
    result = _dbt(["run", "--select", "+analytics.vital_signs"], settings, keyring)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "INSERT 0 " in next(line for line in result.stdout.splitlines()
                               if "analytics.vital_signs" in line and " OK " in line)  # appended, not rebuilt
    assert _readable(settings)["analytics.vital_signs"] is False


def test_a_clean_run_publishes_and_a_failed_check_keeps_it_closed(published, settings):
    outcome = run_everything(settings)
    assert outcome.ok, outcome.as_dict()
    assert all(_readable(settings).values())
    # a blocking check made to fail: a view in the release (tables only); the run rebuilds and must not publish
    with connect(settings, "pipeline", autocommit=True) as conn:
        conn.execute("create view analytics.unchecked_view as select 1 as n")
    try:
        outcome = run_everything(settings)
        assert not outcome.ok
        readable = _readable(settings)
        assert not any(v for k, v in readable.items() if k.startswith("analytics.")), readable
    finally:
        with connect(settings, "pipeline", autocommit=True) as conn:
            conn.execute("drop view analytics.unchecked_view")

"""Test session fixtures: a real PostgreSQL (127.0.0.1:5432 when present, else the embedded cluster), a
database created for this session and dropped after it, a fresh WARDFLOW_HOME and fresh keys."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SYSTEM_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _system_pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return False
    import psycopg

    try:
        with psycopg.connect(SYSTEM_PG, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def server_admin_url(tmp_path_factory) -> Iterator[str]:
    """Admin URL of the server the session uses (maintenance database)."""
    if os.environ.get("WARDFLOW_TEST_EMBEDDED") != "1" and _system_pg_available():
        yield SYSTEM_PG
        return
    from orchestration.warehouse.embedded import EmbeddedPostgres

    cluster = EmbeddedPostgres(tmp_path_factory.mktemp("embedded-home"))
    cluster.start()
    try:
        yield cluster.admin_url("postgres")
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def database_url(server_admin_url: str) -> Iterator[str]:
    """A database of its own for this test session, dropped afterwards."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"wardflow_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    params = conninfo_to_dict(server_admin_url)
    params["dbname"] = name
    url = make_conninfo(**params)
    try:
        yield url
    finally:
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def master_key() -> str:
    """Tests generate their own key; it is never the demo's or anyone's real key."""
    return secrets.token_bytes(32).hex()


@pytest.fixture(scope="session")
def wardflow_env(tmp_path_factory, database_url: str, master_key: str) -> Iterator[dict[str, str]]:
    """Environment of a wardflow process for this session (also applied to os.environ)."""
    home = tmp_path_factory.mktemp("wardflow-home")
    env = {"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": database_url, "WARDFLOW_MASTER_KEY": master_key,
           "DAGSTER_HOME": str(home / "dagster"), "WARDFLOW_HL7_INBOX": str(home / "inbox")}
    mp = pytest.MonkeyPatch()
    for name, value in env.items():
        mp.setenv(name, value)
    try:
        yield env
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def settings(wardflow_env):
    from connectors.settings import load_settings

    return load_settings()


@pytest.fixture(scope="session")
def initialised(settings):
    from orchestration.warehouse.database import init_database

    return init_database(settings)


@pytest.fixture(scope="session")
def keyring(settings, initialised):
    from connectors.crypto import load_keyring

    return load_keyring(settings)


@pytest.fixture
def own_database(server_admin_url: str, settings, initialised, tmp_path: Path):
    """For tests that need a database of their own (to stop it, or to rotate its keys): ``make(prefix)``
    creates one and returns (name, url, home), home holding the session's role passwords (roles are
    cluster-wide and init_database re-sets their passwords from there). Dropped after the test."""
    import shutil

    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    made: list[str] = []

    def make(prefix: str) -> tuple[str, str, Path]:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        made.append(name)
        home = tmp_path / "home"
        (home / "secrets").mkdir(parents=True, exist_ok=True)
        shutil.copy(settings.secrets_dir / "roles.json", home / "secrets" / "roles.json")
        return name, make_conninfo(server_admin_url, dbname=name), home

    try:
        yield make
    finally:
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            for name in made:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """A small synthetic hospital, generated once per session."""
    from connectors.synthetic import generate

    out = tmp_path_factory.mktemp("synthetic")
    summary = generate(out, patients=30, days=1, devices=6, seed=7)
    return out, summary


@pytest.fixture(scope="session")
def built(settings, keyring, synthetic):
    """Synthetic data ingested and the whole pipeline run once: what most integration tests inspect."""
    from connectors.ingest import ingest_paths
    from orchestration.runner import run_everything
    from orchestration.warehouse.database import connect

    out, _ = synthetic
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([out], conn, keyring)
    outcome = run_everything(settings)
    return report, outcome


@pytest.fixture(scope="module")
def landed_rows_forgotten(settings, initialised):
    """For modules that land hand-made messages into the shared session database without building them: at the
    module's end their landed rows are deleted, so that later builds (whose blocking quality checks would read
    repeated test values as flat lines or duplicates) see only the session's synthetic hospital."""
    from orchestration.warehouse.database import connect

    marks = "select (select coalesce(max(message_id), 0) from landing.hl7_messages), " \
            "(select coalesce(max(resource_row_id), 0) from landing.fhir_resources)"
    with connect(settings, "admin") as conn:
        hl7, fhir = conn.execute(marks).fetchone()
    yield
    with connect(settings, "admin") as conn:
        conn.execute("delete from landing.hl7_messages where message_id > %s", (hl7,))
        conn.execute("delete from landing.fhir_resources where resource_row_id > %s", (fhir,))
        conn.commit()


def pytest_collection_modifyitems(items):
    # The Dagster UI test starts the daemon on the session's database, and its sensors act on it as they would for a
    # user (the landed-batches sensor starts a build; a run cut short by the test's end withdraws the release):
    # it runs last, so that no other test reads a database the daemon is still changing.
    items.sort(key=lambda item: item.fspath.basename == "test_dagster_ui.py")
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/e2e/" in path:
            item.add_marker(pytest.mark.e2e)

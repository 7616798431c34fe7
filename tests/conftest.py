"""Test session fixtures: a real PostgreSQL (127.0.0.1:5432 when present, else the embedded cluster), a
template database built once for this session (the synthetic hospital through the whole pipeline), a clone of it and of its
WARDFLOW_HOME for each test module, dropped after it, and fresh keys."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

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
def synthetic(tmp_path_factory):
    """A small synthetic hospital, generated once per session."""
    from connectors.synthetic import generate

    out = tmp_path_factory.mktemp("synthetic")
    summary = generate(out, patients=30, days=1, devices=6, seed=7)
    return out, summary


@pytest.fixture(scope="session")
def master_key() -> str:
    """Tests generate their own key; it is never the demo's or anyone's real key."""
    return secrets.token_bytes(32).hex()


def _env(home: Path, database_url: str, master_key: str) -> dict[str, str]:
    return {"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": database_url, "WARDFLOW_MASTER_KEY": master_key,
            "DAGSTER_HOME": str(home / "dagster"), "WARDFLOW_HL7_INBOX": str(home / "inbox")}


def _drop(server_admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


class Template(NamedTuple):
    name: str  # the template database
    home: Path  # the state folder its build wrote
    report: Any  # IngestReport of the synthetic hospital
    outcome: Any  # RunOutcome of the build


@pytest.fixture(scope="session")
def template(server_admin_url: str, tmp_path_factory, master_key: str, synthetic) -> Iterator[Template]:
    """The session's template: a database initialised, the synthetic hospital ingested and the whole pipeline run
    once, with the state folder it wrote. Each test module gets a clone of both, so that what one module lands,
    rebuilds or revokes never reaches another, and the pipeline is built once instead of once per module."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"wardflow_tmpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    home = tmp_path_factory.mktemp("template-home")
    mp = pytest.MonkeyPatch()
    try:
        for key, value in _env(home, make_conninfo(server_admin_url, dbname=name), master_key).items():
            mp.setenv(key, value)
        from connectors.crypto import load_keyring
        from connectors.ingest import ingest_paths
        from connectors.settings import load_settings
        from orchestration.runner import run_everything
        from orchestration.warehouse.database import connect, init_database

        settings = load_settings()
        init_database(settings)
        out, _ = synthetic
        with connect(settings, "pipeline") as conn:
            report = ingest_paths([out], conn, load_keyring(settings))
        outcome = run_everything(settings)
        mp.undo()
        yield Template(name, home, report, outcome)
    finally:
        mp.undo()
        _drop(server_admin_url, name)


@pytest.fixture(scope="module")
def database_url(server_admin_url: str, template: Template) -> Iterator[str]:
    """A database of this test module's own, cloned from the session's built template, dropped afterwards."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"wardflow_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        # a clone needs the template to itself: nothing of the session's keeps a connection to it open
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (template.name,))
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                      sql.Identifier(template.name)))
    try:
        yield make_conninfo(server_admin_url, dbname=name)
    finally:
        _drop(server_admin_url, name)


@pytest.fixture(scope="module")
def wardflow_env(tmp_path_factory, template: Template, database_url: str, master_key: str) -> Iterator[dict[str, str]]:
    """Environment of a wardflow process for this module (also applied to os.environ): the module's database and
    a copy of the template's state folder (role passwords, audit anchor, run history)."""
    import shutil

    home = tmp_path_factory.mktemp("wardflow-home")
    shutil.copytree(template.home, home, dirs_exist_ok=True)
    env = _env(home, database_url, master_key)
    mp = pytest.MonkeyPatch()
    for name, value in env.items():
        mp.setenv(name, value)
    try:
        yield env
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def settings(wardflow_env):
    from connectors.settings import load_settings

    return load_settings()


@pytest.fixture(scope="module")
def initialised(settings):
    """init on the clone: a database's own grants and settings are not copied from its template; init sets them."""
    from orchestration.warehouse.database import init_database

    return init_database(settings)


@pytest.fixture(scope="module")
def keyring(settings, initialised):
    from connectors.crypto import load_keyring

    return load_keyring(settings)


@pytest.fixture(scope="module")
def built(template: Template, initialised):
    """The synthetic hospital ingested and the whole pipeline run once (in the template this module's database was
    cloned from): what most integration tests inspect."""
    return template.report, template.outcome


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


def _in_ci() -> bool:
    return any(os.environ.get(name, "").lower() not in ("", "0", "false") for name in ("CI", "WARDFLOW_REQUIRE_CORPUS"))


def pytest_runtest_setup(item):
    """Tests marked ``corpus(folder)`` read the shared public corpus beside the checkout: where it is missing they
    are skipped on a developer's machine and fail in CI, so that CI never passes without having read it."""
    marker = item.get_closest_marker("corpus")
    if marker is None:
        return
    folder = CORPUS.joinpath(*marker.args)
    if folder.is_dir() and any(folder.iterdir()):
        return
    if _in_ci():
        pytest.fail(f"the shared corpus is missing at {folder}: CI runs the corpus tests", pytrace=False)
    pytest.skip(f"shared corpus not present at {folder}")


def pytest_terminal_summary(terminalreporter):
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "shared corpus not present" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} corpus tests skipped: {CORPUS} is missing (CI fails instead)",
                                    yellow=True, bold=True)


def pytest_collection_modifyitems(items):
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/e2e/" in path:
            item.add_marker(pytest.mark.e2e)

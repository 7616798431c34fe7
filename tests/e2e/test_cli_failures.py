"""Each way a first hour goes wrong, through the real `wardflow` command: a non-zero exit, no traceback, and a
last line naming the cause and the fix; read-only commands create and start nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from psycopg.conninfo import make_conninfo

SECRET_IN_DSN = "hunter2-not-printed"


def wardflow(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WARDFLOW_", "DAGSTER_"))}
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True,
                          env={**clean, **env}, cwd=cwd, timeout=300)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def home_with_passwords(tmp_path: Path, settings) -> Path:
    home = tmp_path / "home"
    (home / "secrets").mkdir(parents=True)
    (home / "secrets" / "roles.json").write_text((settings.secrets_dir / "roles.json").read_text())
    return home


def postgres_processes_under(path: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if str(path) in cmdline and "postgres" in cmdline:
            found.append(proc.pid)
    return found


def case_env(case: str, tmp_path: Path, server_admin_url: str, settings, database_url: str, own_database):
    """(args, env, words the last line must hold) for one failure mode."""
    fresh = {"WARDFLOW_HOME": str(tmp_path / "fresh")}
    missing_db = make_conninfo(server_admin_url, dbname="wardflow_no_such_db")
    malformed = {**fresh, "WARDFLOW_DATABASE_URL": f"user=admin password={SECRET_IN_DSN} host"}
    if case == "run before init":
        return ["run"], fresh, ["no embedded PostgreSQL", "wardflow init"]
    if case == "status before init":
        return ["status"], fresh, ["no embedded PostgreSQL", "wardflow init"]
    if case == "db url before init":
        return ["db", "url"], fresh, ["no embedded PostgreSQL", "wardflow init"]
    if case == "run with a malformed DSN":
        return ["run"], malformed, ["WARDFLOW_DATABASE_URL is malformed", "postgresql://"]
    if case == "init with a malformed DSN":
        return ["init"], malformed, ["WARDFLOW_DATABASE_URL is malformed", "postgresql://"]
    if case == "init against a missing database":
        return ["init"], {**fresh, "WARDFLOW_DATABASE_URL": missing_db}, ["does not exist", "createdb"]
    if case == "run against a missing database":
        env = {"WARDFLOW_HOME": str(home_with_passwords(tmp_path, settings)), "WARDFLOW_DATABASE_URL": missing_db}
        return ["run"], env, ["wardflow_no_such_db does not exist", "createdb"]
    if case == "run against a database never initialised":
        _, url, home = own_database("wardflow_uninit")
        return ["run"], {"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": url}, ["not initialised", "wardflow init"]
    if case == "run with another state folder's passwords missing":
        return ["run"], {**fresh, "WARDFLOW_DATABASE_URL": database_url}, ["no role passwords", "wardflow init"]
    if case == "run without a master key":
        env = {"WARDFLOW_HOME": str(home_with_passwords(tmp_path, settings)), "WARDFLOW_DATABASE_URL": database_url}
        return ["run"], env, ["no master key", "WARDFLOW_MASTER_KEY"]
    if case == "ingest of a missing path":
        env = {"WARDFLOW_HOME": str(home_with_passwords(tmp_path, settings)), "WARDFLOW_DATABASE_URL": database_url}
        return ["ingest", str(tmp_path / "nope")], env, ["no such file or folder"]
    raise AssertionError(case)


CASES = ["run before init", "status before init", "db url before init", "run with a malformed DSN",
         "init with a malformed DSN", "init against a missing database", "run against a missing database",
         "run against a database never initialised", "run with another state folder's passwords missing",
         "run without a master key", "ingest of a missing path"]


@pytest.mark.parametrize("case", CASES)
def test_a_failure_ends_in_one_line_with_cause_and_fix(case, tmp_path, server_admin_url, settings, database_url,
                                                      own_database, initialised):
    args, env, words = case_env(case, tmp_path, server_admin_url, settings, database_url, own_database)
    result = wardflow(args, env)
    assert result.returncode != 0
    out = lines(result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert out and out[-1].startswith("error: "), result.stderr[-3000:]
    for word in words:
        assert word in out[-1], out[-1]
    assert len(out) <= 2, result.stderr[-3000:]  # the state line, then the error
    assert SECRET_IN_DSN not in result.stderr + result.stdout
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    env = {"WARDFLOW_HOME": str(tmp_path / "h"), "WARDFLOW_DATABASE_URL": f"password={SECRET_IN_DSN} host"}
    result = wardflow(["run", "--debug"], env)
    assert result.returncode != 0 and "Traceback" in result.stderr
    assert lines(result.stderr)[-1].startswith("error: WARDFLOW_DATABASE_URL is malformed")


@pytest.mark.parametrize("args", [["db", "url"], ["db", "url", "--role", "ingest"], ["status"],
                                  ["status", "--json"], ["db", "status"], ["db", "status", "--json"]])
def test_read_only_commands_create_and_start_nothing(args, tmp_path):
    home = tmp_path / "state"
    result = wardflow(args, {"WARDFLOW_HOME": str(home)})
    assert result.returncode != 0
    assert not (home / "pg").exists() and not (home / "secrets").exists()
    assert postgres_processes_under(home) == []
    assert "Traceback" not in result.stderr


def test_every_command_names_its_state_folder_and_server_found_from_a_sub_folder(tmp_path, database_url):
    project = tmp_path / "proj"
    (project / "docs" / "deep").mkdir(parents=True)
    (project / "workspace.yaml").write_text("load_from: []\n")
    (project / "pyproject.toml").write_text('[project]\nname = "wardflow"\n')
    result = wardflow(["db", "status", "--json"], {"WARDFLOW_DATABASE_URL": database_url}, cwd=project / "docs" / "deep")
    first = lines(result.stderr)[0]
    assert first.startswith(f"state {project.resolve() / '.wardflow'} (project found from the current folder)")
    assert "server WARDFLOW_DATABASE_URL" in first and "/wardflow_test_" in first
    assert json.loads(result.stdout) == {"embedded": False}
    assert not (project / "docs" / "deep" / ".wardflow").exists()


def test_read_only_commands_leave_a_stopped_cluster_stopped(tmp_path):
    from orchestration.warehouse.embedded import EmbeddedPostgres

    home = tmp_path / "state"
    cluster = EmbeddedPostgres(home)
    cluster.start()
    cluster.stop()
    try:
        for args in (["db", "url"], ["status"]):
            result = wardflow(args, {"WARDFLOW_HOME": str(home)})
            assert result.returncode == 2 and "Traceback" not in result.stderr
            assert lines(result.stderr)[-1].startswith("error: embedded PostgreSQL in ")
            assert "wardflow db start" in lines(result.stderr)[-1]
            assert "(stopped)" in lines(result.stderr)[0]
            assert not cluster.status().running
    finally:
        cluster.destroy()

"""No value in any log, and a row that breaks the build is quarantined instead of blocking every later one.

Identifiers planted in poison input are searched for in every file a failing build and a passing run leave
behind (the server log, dbt's target folder, WARDFLOW_HOME with Dagster's storage) and in what the process
printed. The poison is made as an older release landed it: a document whose PID-3 ends in a NUL escape (the
parser now rejects NUL, so the row is written directly). PostgreSQL quotes the JSON around the NUL, resident ID
included, in the error's CONTEXT; the first dbt build fails on it, the row is quarantined, the second passes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import psycopg
import pytest
from stdnum.cn import ric

from connectors.crypto import Fingerprinter, Sealer
from orchestration.warehouse.database import connect
from orchestration.warehouse.quiet_logs import QUIET_SETTINGS, role_log_settings, role_settings

REPO = Path(__file__).resolve().parents[2]
RESIDENT_ID = "32010219770707055" + ric.calc_check_digit("32010219770707055")
NAME = "诸葛孔明"


def _poisoned_document() -> bytes:
    """A document as landing once stored it, with a NUL right after the resident ID."""
    msh = ["MSH", [[["|"]]], [[["^~\\&"]]], [[["MONITOR"]]], [[["LEAK"]]], [], [], [[["20261101090000+0800"]]], [],
           [[["ORU"], ["R01"], ["ORU_R01"]]], [[["LEAK-1"]]], [[["P"]]], [[["2.6"]]]]
    pid = ["PID", [[["1"]]], [], [[[RESIDENT_ID + "\x00"], [""], [""], ["CHN&2.16.156.10011.1.3&ISO"], ["NNCHN"]]],
           [], [[[NAME]]]]
    return orjson.dumps({"v": 1, "segments": [msh, pid]})


def _land_poison(conn: psycopg.Connection, keyring) -> int:
    sealer, fingerprint = Sealer(keyring), Fingerprinter(keyring)
    doc = _poisoned_document()
    row = conn.execute(
        "insert into landing.hl7_messages (batch_id, source_kind, sender, message_type, trigger_event, "
        "message_structure, control_id, version, payload_bytes, content_hmac, key_version, payload, doc) "
        "values (%s, 'file', 'MONITOR|LEAK', 'ORU', 'R01', 'ORU_R01', %s, '2.6', %s, %s, %s, %s, %s) "
        "returning message_id",
        (uuid.uuid4(), f"LEAK-{uuid.uuid4().hex[:8]}", len(doc), fingerprint.content(doc), sealer.version,
         sealer.seal(doc), sealer.seal(doc))).fetchone()[0]
    conn.commit()
    return row


def _server_logs(server_admin_url: str, tmp_path_factory) -> list[Path]:
    """The embedded cluster's server.log (its home is a session temp folder), or the server's logging folder."""
    found = list(tmp_path_factory.getbasetemp().glob("embedded-home*/pg/server.log"))
    with psycopg.connect(server_admin_url) as conn:
        data = Path(conn.execute("show data_directory").fetchone()[0])
        log_dir = conn.execute("show log_directory").fetchone()[0]
    return found + [p for p in [data / log_dir] if p.is_dir()]


def _files_holding(roots: list[Path], needles: list[bytes]) -> list[str]:
    found = []
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += [f"{path}: {needles.index(n)}" for n in needles if n in data]
    return found


def _wardflow_run(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`wardflow run --json` as a user runs it: everything it prints is captured, and so is the run's log file
    (dbt's and Dagster's output, whose path the JSON gives), appended to stdout."""
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--json"], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=600)
    try:
        log = json.loads(done.stdout.strip().splitlines()[-1]).get("log")
    except (ValueError, IndexError):
        log = None
    if log and Path(log).is_file():
        done.stdout += "\n" + Path(log).read_text(errors="replace")
    return done


@pytest.fixture(scope="module")
def run_with_a_failed_build(built, settings, keyring, wardflow_env):
    """One `wardflow run` holding a failing dbt build (the planted row) and, after the quarantine, a passing
    one."""
    with connect(settings, "pipeline") as conn:
        message_id = _land_poison(conn, keyring)
    try:
        first = _wardflow_run(wardflow_env)
    finally:
        with connect(settings, "pipeline") as conn:
            conn.execute("delete from landing.hl7_messages where message_id = %s", (message_id,))
            conn.commit()
    return (first,)


def test_the_planted_row_failed_a_build_and_was_quarantined(run_with_a_failed_build, settings):
    (first,) = run_with_a_failed_build
    printed = first.stdout + first.stderr
    assert "Database Error in model" in printed, "the planted row no longer breaks a build: the test proves nothing"
    assert "Completed successfully" in printed  # the build after the quarantine
    assert first.returncode == 0, first.stdout[-3000:]
    with connect(settings, "pipeline") as conn:
        rows = conn.execute("select format, field_path, error_code, status from landing.rejected "
                            "where rule = 'staging.unreadable'").fetchall()
    assert ("hl7v2", "document", "22P05", "open") in rows


def test_quarantined_rows_are_listed_replayed_and_discarded(run_with_a_failed_build, wardflow_env, tmp_path):
    def cli(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "orchestration.cli", *args, "--json"], capture_output=True,
                              text=True, env={**os.environ, **wardflow_env}, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    listed = cli("rejected", "list", "--rule", "staging.unreadable")["rejected"]
    assert len(listed) == 1 and RESIDENT_ID not in json.dumps(listed, ensure_ascii=False)
    quarantined = str(listed[0]["rejected_id"])
    fixed = tmp_path / "fixed.hl7"
    fixed.write_bytes(f"MSH|^~\\&|MONITOR|LEAK|||20261101090000+0800||ORU^R01^ORU_R01|LEAK-FIXED|P|2.6\r"
                      f"PID|1||{RESIDENT_ID}^^^CHN&2.16.156.10011.1.3&ISO^NNCHN||{NAME}\r".encode())
    assert cli("rejected", "replay", quarantined, "--fixed", str(fixed))["replayed"] == 1
    assert cli("rejected", "list", "--rule", "staging.unreadable")["rejected"] == []
    (tmp_path / "junk.txt").write_bytes(b"not a message at all")
    cli("ingest", str(tmp_path / "junk.txt"))
    junk = cli("rejected", "list", "--rule", "input.format_unknown")["rejected"]
    assert cli("rejected", "discard", *[str(r["rejected_id"]) for r in junk]) == {"discarded": len(junk)}
    assert cli("rejected", "list", "--rule", "input.format_unknown")["rejected"] == []


def test_no_planted_value_in_any_file_or_output(run_with_a_failed_build, settings, server_admin_url, tmp_path_factory):
    printed = "".join(run.stdout + run.stderr for run in run_with_a_failed_build)
    needles = [RESIDENT_ID.encode(), NAME.encode()]
    roots = [REPO / "dbt_project" / "target", settings.home]
    logs = _server_logs(server_admin_url, tmp_path_factory)
    assert logs or os.environ.get("WARDFLOW_TEST_EMBEDDED") != "1", "the embedded server log is not found"
    roots += [log.parent if log.is_file() else log for log in logs]
    assert _files_holding(roots, needles) == []
    assert RESIDENT_ID not in printed and NAME not in printed


def test_the_failed_build_is_reported_by_sqlstate_and_model(run_with_a_failed_build):
    printed = run_with_a_failed_build[0].stdout + run_with_a_failed_build[0].stderr
    assert "SQLSTATE 22P05" in printed  # untranslatable_character: the NUL escape
    assert re.search(r"Database Error in model \w+", printed), "the failing model is not named"


def test_every_project_role_logs_quietly(initialised, settings):
    """init set the quiet settings per role (the test session's owner is a superuser)."""
    from connectors.settings import ROLE_NAMES

    assert initialised.log_settings_not_set == []
    with connect(settings, "pipeline") as conn:
        for role in ROLE_NAMES.values():
            assert role_settings(role).items() <= role_log_settings(conn, role).items(), role
        # the pipeline's sessions hold keys: none of its statements reaches the server log
        assert role_log_settings(conn, "wardflow_pipeline")["log_statement"] == "none"
        assert QUIET_SETTINGS.items() <= role_log_settings(conn, "wardflow_pipeline").items()

"""The `wardflow` command as a user runs it: exit codes, --json output, no values or keys printed."""

import json
import os
import subprocess
import sys

import pytest


def wardflow(args, env, check=True, timeout=300):
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"wardflow {' '.join(args)} exited {result.returncode}: {result.stderr[-2000:]}")
    return result


@pytest.fixture(autouse=True)
def _database_ready(initialised):
    """Every command here runs against the session's initialised database."""


def last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def generated(tmp_path_factory, wardflow_env, initialised):
    out = tmp_path_factory.mktemp("cli-generated")
    result = wardflow(["generate", "--patients", "8", "--days", "1", "--devices", "3", "--seed", "11", "--out",
                       str(out), "--json"], wardflow_env)
    return out, last_json(result)


def test_generate_reports_counts_only(generated):
    out, summary = generated
    assert summary["patients"] == 8 and summary["hl7_messages"]["ORU^R01"] > 0
    assert (out / "hl7" / "monitors").is_dir() and (out / "fhir" / "bundles").is_dir()


def test_ingest_json_then_again_counts_duplicates(generated, wardflow_env, keyring):
    out, _ = generated
    first = last_json(wardflow(["ingest", str(out), "--json"], wardflow_env))
    assert {"landed", "duplicates", "rejected"} <= first.keys()
    assert first["landed"] > 0 and first["rejected"] == 0
    second = wardflow(["ingest", str(out), "--json"], wardflow_env)
    again = last_json(second)
    assert again["landed"] == 0 and again["duplicates"] == first["landed"] + first["duplicates"]
    for secret in keyring.secret_strings():
        assert secret not in second.stdout + second.stderr


def test_ingest_of_a_missing_path_fails_clearly(wardflow_env, tmp_path):
    result = wardflow(["ingest", str(tmp_path / "nope")], wardflow_env, check=False)
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


def test_bad_input_is_rejected_with_field_and_rule_not_content(wardflow_env, tmp_path, settings):
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(b"MSH|^~\\&|LAB|HOSP|WF|HOSP|20261101120000||ORU^R01|||2.6\rPID|||X^^^HIS^MR||SECRETNAME^Zed\r")
    result = wardflow(["ingest", str(bad), "--json"], wardflow_env)
    assert last_json(result)["rejected"] == 1
    assert "SECRETNAME" not in result.stdout + result.stderr
    from orchestration.warehouse.database import connect

    with connect(settings, "pipeline") as conn:
        rule, path, reason = conn.execute(
            "select rule, field_path, reason from landing.rejected order by rejected_id desc limit 1").fetchone()
    assert path == "MSH-10" and "required" in reason and "SECRETNAME" not in reason


def test_db_url_names_the_role(wardflow_env):
    url = wardflow(["db", "url", "--role", "analyst"], wardflow_env).stdout.strip()
    assert url.startswith("postgresql://wardflow_analyst")
    assert wardflow(["db", "url", "--role", "root"], wardflow_env, check=False).returncode != 0


def test_report_audit_and_keys_status(built, wardflow_env, tmp_path, keyring):
    paths = last_json(wardflow(["report", "--out", str(tmp_path), "--json"], wardflow_env))
    markdown = open(paths["markdown"]).read()
    assert "vault.vault_patients" in markdown and "analytics.vital_signs" in markdown
    verify = last_json(wardflow(["audit", "verify", "--json"], wardflow_env))
    assert verify["ok"] and verify["events"] > 0
    status = wardflow(["keys", "status", "--json"], wardflow_env)
    assert last_json(status)["current"] == keyring.current
    for secret in keyring.secret_strings():
        assert secret not in status.stdout


def test_rejected_list_export_fix_and_replay(wardflow_env, tmp_path, keyring):
    bad = tmp_path / "needs-fix.hl7"
    bad.write_bytes(b"MSH|^~\\&|LAB|HOSP|WF|HOSP|20261101120000||ORU^R01|||2.6\rPID|||FIXME1^^^HIS^MR||Fix^Me\r")
    wardflow(["ingest", str(bad)], wardflow_env)
    listed = last_json(wardflow(["rejected", "list", "--json", "--rule", "msh.control_id.required"], wardflow_env))
    row = listed["rejected"][-1]
    assert row["field_path"] == "MSH-10" and "Fix" not in json.dumps(listed)
    exported = tmp_path / "exported.hl7"
    wardflow(["rejected", "export", str(row["rejected_id"]), "--out", str(exported)], wardflow_env)
    assert exported.read_bytes().rstrip(b"\r") == bad.read_bytes().rstrip(b"\r") and oct(exported.stat().st_mode & 0o777) == "0o600"
    fixed = tmp_path / "fixed.hl7"
    fixed.write_bytes(exported.read_bytes().replace(b"||ORU^R01|||2.6", b"||ORU^R01|FIXED-1|P|2.6"))
    result = last_json(wardflow(["rejected", "replay", str(row["rejected_id"]), "--fixed", str(fixed), "--json"],
                                wardflow_env))
    assert result == {"replayed": 1, "still_rejected": 0, "landed": 1, "duplicates": 0}
    still_open = last_json(wardflow(["rejected", "list", "--json"], wardflow_env))["rejected"]
    assert row["rejected_id"] not in [r["rejected_id"] for r in still_open]

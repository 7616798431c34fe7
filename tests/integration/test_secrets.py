"""Keys never appear in dbt artifacts, logs, the Dagster event log or run storage (DESIGN.md decision 3)."""

import os
from pathlib import Path

import dagster as dg

from orchestration.project import DBT_PROJECT_DIR


def _files_under(*roots: Path):
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


def test_no_key_material_in_dbt_target_logs_or_dagster_storage(built, keyring, wardflow_env):
    secrets = keyring.secret_strings()
    assert len(secrets) >= 10
    roots = [DBT_PROJECT_DIR / "target", DBT_PROJECT_DIR / "logs", Path(wardflow_env["DAGSTER_HOME"]),
             Path("logs")]
    checked = 0
    for path in _files_under(*roots):
        data = path.read_bytes()
        checked += 1
        for secret in secrets:
            assert secret.encode() not in data, f"key material in {path}"
    assert checked > 0


def test_no_key_material_in_dagster_event_log(built, keyring, wardflow_env):
    _, outcome = built
    os.environ["DAGSTER_HOME"] = wardflow_env["DAGSTER_HOME"]
    instance = dg.DagsterInstance.get()
    records = instance.get_records_for_run(outcome.run_id).records
    assert records
    text = "\n".join(str(r.event_log_entry) for r in records)
    for secret in keyring.secret_strings():
        assert secret not in text

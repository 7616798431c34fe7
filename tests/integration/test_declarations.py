"""Deny by default: every column of every model is declared, and a missing declaration fails the build."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from orchestration.project import DBT_PROJECT_DIR, prepare_manifest
from orchestration.resources import dbt_environment
from orchestration.warehouse.database import connect

DBT = str(Path(sys.executable).with_name("dbt"))


def _dbt(args: list[str], project: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([DBT, *args, "--project-dir", str(project), "--profiles-dir", str(project)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_ephemeral_models_produce_exactly_their_declared_columns(built, settings, keyring):
    """Contracts cover persisted models; staging and intermediate are checked here against the database."""
    import os

    env = {**os.environ, **dbt_environment(settings, keyring)}
    result = _dbt(["compile", "--select", "staging", "intermediate", "--quiet"], DBT_PROJECT_DIR, env)
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    checked = 0
    with connect(settings, "pipeline", keyring=keyring) as conn:
        for node in manifest["nodes"].values():
            if node["resource_type"] != "model" or node["config"]["materialized"] != "ephemeral":
                continue
            sql = (DBT_PROJECT_DIR / "target" / "compiled" / "wardflow" / node["original_file_path"]).read_text()
            cur = conn.execute(f"select * from ({sql}) as q limit 0")
            actual = [d.name for d in cur.description]
            assert actual == list(node["columns"]), node["name"]
            checked += 1
    assert checked >= 10


def test_a_column_without_privacy_declaration_fails_the_build(tmp_path, settings, keyring, initialised):
    import os

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    path = project / "models" / "clinical" / "_clinical__models.yml"
    doc = yaml.safe_load(path.read_text())
    column = doc["models"][0]["columns"][1]
    column["config"]["meta"].pop("privacy")
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    env = {**os.environ, **dbt_environment(settings, keyring)}
    result = _dbt(["run-operation", "wardflow_assert_privacy_declared"], project, env)
    assert result.returncode != 0
    assert f"{doc['models'][0]['name']}.{column['name']}: no config.meta.privacy (rule privacy.declared)" in result.stdout


def test_an_unknown_treatment_and_a_plain_direct_identifier_in_analytics_fail(tmp_path, settings, keyring, initialised):
    import os

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    path = project / "models" / "analytics" / "_analytics__models.yml"
    doc = yaml.safe_load(path.read_text())
    doc["models"][0]["columns"][2]["config"]["meta"]["privacy"] = {
        "category": "personal_attributes", "level": 4, "identifier": "direct", "hipaa": "names", "treatment": "keep"}
    doc["models"][0]["columns"][4]["config"]["meta"]["privacy"] = {
        "category": "personal_attributes", "level": 3, "identifier": "direct", "hipaa": "phone", "treatment": "mask",
        "mask": "phone"}
    doc["models"][0]["columns"][3]["config"]["meta"]["privacy"]["treatment"] = "scramble"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    env = {**os.environ, **dbt_environment(settings, keyring)}
    result = _dbt(["run-operation", "wardflow_assert_privacy_declared"], project, env)
    assert result.returncode != 0
    names = [c["name"] for c in doc["models"][0]["columns"]]
    for column in (names[2], names[4]):  # plain or masked: no direct identifier in what the analyst reads
        assert f"{doc['models'][0]['name']}.{column}: a direct identifier, masked or not, cannot be in analytics " \
               "(rule privacy.no_direct_in_release)" in result.stdout
    assert "rule privacy.treatment" in result.stdout


def test_classification_catalog_lists_every_declared_column(built, settings):
    manifest = json.loads(prepare_manifest().read_text())
    declared = sum(len(n["columns"]) for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed"))
    declared += sum(len(s["columns"]) for s in manifest["sources"].values())
    with connect(settings, "compliance") as conn:
        rows = conn.execute("select count(*), count(*) filter (where treatment = '') from audit.column_classification"
                            ).fetchone()
    assert rows == (declared, 0)

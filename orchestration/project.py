"""The dbt project as Dagster sees it. The manifest is prepared by `prepare_manifest()` (CLI, tests) or by
`dagster dev` (prepare_if_dev), never at import time by anything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

wardflow_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
wardflow_dbt.prepare_if_dev()


def ensure_dbt_on_path() -> None:
    """dagster-dbt runs `dbt` from PATH: make it the one installed beside this interpreter (the venv)."""
    venv_bin = str(Path(sys.executable).parent)
    if (Path(venv_bin) / "dbt").exists() and venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")


def prepare_manifest() -> Path:
    """Parse the dbt project into target/manifest.json (no database connection needed)."""
    ensure_dbt_on_path()
    result = subprocess.run(
        ["dbt", "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        capture_output=True, text=True, cwd=DBT_PROJECT_DIR, check=False,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return wardflow_dbt.manifest_path

"""The dbt project as Dagster sees it. The manifest is prepared by `prepare_manifest()` (`wardflow run`,
`wardflow ui`, `wardflow dbt`, tests), never at import time: importing this module runs neither dbt nor a
database call, so the definitions load the same way under `dagster dev`, a test and `wardflow run`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

wardflow_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """dbt with database errors reduced to their SQLSTATE (orchestration/dbt_redacted.py), installed beside this
    interpreter (the venv) so that nobody needs to activate the venv; plain dbt only where the wrapper is not."""
    import shutil

    for name in ("wardflow-dbt", "dbt"):
        beside = Path(sys.executable).with_name(name)
        if beside.exists():
            return str(beside)
    return shutil.which("wardflow-dbt") or shutil.which("dbt") or "dbt"


def ensure_dbt_on_path() -> None:
    """dagster-dbt runs `dbt` from PATH in places: make it the one installed beside this interpreter."""
    venv_bin = str(Path(sys.executable).parent)
    if (Path(venv_bin) / "dbt").exists() and venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")


def prepare_manifest(connection: Mapping[str, str] | None = None) -> Path:
    """Parse the dbt project into target/manifest.json (no database connection needed).

    `connection` is the WARDFLOW_PG_* set the later `dbt build` uses: with the same values, the
    partial_parse.msgpack written here stays valid for that build."""
    ensure_dbt_on_path()
    result = subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR)],
        capture_output=True, text=True, cwd=DBT_PROJECT_DIR, check=False,
        env={**os.environ, **(connection or {}), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    if result.returncode != 0:
        from orchestration.errors import WardflowError

        first = next((line.strip() for line in (result.stdout + result.stderr).splitlines() if "rror" in line),
                     "no error line")
        raise WardflowError(f"dbt parse failed ({first}): fix the dbt project; `wardflow dbt parse` shows it all")
    return wardflow_dbt.manifest_path


def require_manifest() -> Path:
    """The manifest path; a missing manifest is one clear line instead of a traceback from @dbt_assets."""
    if not wardflow_dbt.manifest_path.exists():
        from orchestration.errors import WardflowError

        raise WardflowError(f"no dbt manifest at {wardflow_dbt.manifest_path}: start the UI with `wardflow ui` "
                            "(it parses the dbt project first) or run `wardflow dbt parse`")
    return wardflow_dbt.manifest_path

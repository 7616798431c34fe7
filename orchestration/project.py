"""The dbt project as Dagster sees it. The manifest is prepared by `prepare_manifest()` (CLI, tests) or by
`dagster dev` (prepare_if_dev), never at import time by anything else."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

wardflow_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
wardflow_dbt.prepare_if_dev()


def prepare_manifest() -> Path:
    """Parse the dbt project into target/manifest.json (no database connection needed)."""
    wardflow_dbt.preparer.prepare(wardflow_dbt)
    return wardflow_dbt.manifest_path

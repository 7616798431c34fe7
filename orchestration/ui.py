"""`wardflow ui` / `make ui`: the Dagster UI over this project's state, with nothing to activate or export.

It sets what `dagster dev` needs and then becomes `dagster dev`: DAGSTER_HOME at the state folder (the run
history `wardflow run` writes), the venv's bin first on PATH (dbt found), WARDFLOW_HOME passed to the code
server, and the dbt manifest parsed before the code location imports it (the definitions never run dbt or
touch the database at import). It also writes `DAGSTER_HOME` into the project's `.env`, which `dagster dev`
reads, so that a bare `.venv/bin/dagster dev -w workspace.yaml` in the project folder shows the same runs.
Prints paths and ports only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from connectors.settings import STATE_FOLDER, Settings, is_project_root

PROJECT_DIR = Path(__file__).resolve().parents[1]
DOTENV_MARK = "# written by wardflow (wardflow ui / init): the Dagster run history of this project"


def dagster_env(settings: Settings) -> dict[str, str]:
    """The variables `dagster dev` and its code server need, on top of this process's environment."""
    from orchestration.runner import ensure_dagster_home

    venv_bin = str(Path(sys.executable).parent)
    return {"DAGSTER_HOME": ensure_dagster_home(settings), "WARDFLOW_HOME": str(settings.home),
            "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def write_dotenv(settings: Settings, project: Path = PROJECT_DIR) -> Path | None:
    """Point a bare `dagster dev` in `project` at the state folder's run history, via the project's .env.

    Only for the project's own state folder, and never over a .env that wardflow did not write."""
    dotenv = project / ".env"
    if not is_project_root(project) or settings.home != (project / STATE_FOLDER).resolve():
        return None
    if dotenv.exists() and not dotenv.read_text().startswith(DOTENV_MARK):
        return None
    from orchestration.runner import ensure_dagster_home

    dotenv.write_text(f"{DOTENV_MARK}\nDAGSTER_HOME={ensure_dagster_home(settings)}\n")
    return dotenv


def prepare(settings: Settings) -> str | None:
    """Parse the dbt project with the build's connection values; a warning (not a failure) without a database."""
    from orchestration.project import prepare_manifest
    from orchestration.resources import dbt_connection_env
    from orchestration.warehouse.database import DatabaseError

    try:
        connection, warning = dbt_connection_env(settings), None
    except DatabaseError as exc:
        connection, warning = None, f"{exc} (the graph shows; runs need the database)"
    prepare_manifest(connection)
    return warning


def dagster_dev_argv(host: str, port: int) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster), "dev", "-w", str(PROJECT_DIR / "workspace.yaml"), "--host", host, "--port", str(port)]

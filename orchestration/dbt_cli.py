"""`wardflow dbt …` and `wardflow docs`: dbt by hand, with the project's connection.

dbt gets the project and profiles folders, the pipeline role's connection and the purpose keys through its
environment (WARDFLOW_PG_*, DBT_ENV_SECRET_* which dbt scrubs from its logs, PGOPTIONS for the keys), never
through its command line, where `ps` would show them. Prints nothing itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from connectors.settings import Settings


def dbt_env(settings: Settings) -> dict[str, str]:
    from connectors.crypto import load_keyring
    from orchestration.project import DBT_PROJECT_DIR
    from orchestration.resources import dbt_environment

    return {**os.environ, **dbt_environment(settings, load_keyring(settings)),
            "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}


def run_dbt(settings: Settings, args: list[str]) -> int:
    """dbt with `args` as typed, from the current folder; its exit status."""
    from orchestration.project import dbt_executable

    return subprocess.run([dbt_executable(), *args], env=dbt_env(settings), check=False).returncode


def serve_docs(settings: Settings, host: str, port: int) -> int:
    """`dbt docs generate` (reads the catalog from the database), then `dbt docs serve` until Ctrl-C."""
    generated = run_dbt(settings, ["docs", "generate"])
    if generated != 0:
        return generated
    return run_dbt(settings, ["docs", "serve", "--host", host, "--port", str(port), "--no-browser"])

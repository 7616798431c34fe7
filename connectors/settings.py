"""Where wardflow keeps its state and which database it talks to.

Nothing is read from the environment at import time: call `load_settings()` at the edge (CLI, Dagster
resource, test fixture) and pass the result down.

The state folder is found the way git finds `.git`: WARDFLOW_HOME when set, else `.wardflow` in the nearest
folder at or above the current directory that holds wardflow's `workspace.yaml` and `pyproject.toml`, else
the checkout this code runs from. Running a command from a sub-folder therefore never creates a second,
empty state folder. Nothing here logs; paths are the only values it reports.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# pipeline: builds the keyed layers (its password is kept beside the keys, never handed out); ingest: what the
# connectors (listener, file ingest, inbox) log in as, writing landing only.
ROLES = ("pipeline", "ingest", "analyst", "compliance", "reader")
ROLE_NAMES = {role: f"wardflow_{role}" for role in ROLES}
# The search_path every wardflow session starts with (libpq options, before any SQL runs): pg_catalog only, which
# no login role can write, so no schema or function a login role creates can shadow one the code calls unqualified
# ("$user" and public are left out; pg_temp last so a temporary table never shadows a table either).
SAFE_SEARCH_PATH = "pg_catalog,pg_temp"


def session_options(*parts: str) -> str:
    """libpq `options` for a wardflow session: the safe search_path, then the given `-c` settings."""
    return " ".join([f"-c search_path={SAFE_SEARCH_PATH}", *[p for p in parts if p]])


@dataclass(frozen=True)
class Settings:
    """The resolved environment of one wardflow process (no secrets are held here, only where they live)."""

    home: Path
    database_url: str | None  # None: use the embedded cluster under home/pg
    master_key: str | None  # WARDFLOW_MASTER_KEY as given (never logged)
    key_file: Path
    home_source: str = "WARDFLOW_HOME"  # how home was found, said to the user with the path
    audit_syslog: str | None = None  # WARDFLOW_AUDIT_SYSLOG: also send each audit anchor to syslog (path or host:port)

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def __repr__(self) -> str:  # keep the key out of every repr
        key = "set" if self.master_key else "unset"
        return f"Settings(home={self.home}, embedded={self.embedded}, master_key={key}, key_file={self.key_file})"


class ProjectNotFoundError(RuntimeError):
    """No WARDFLOW_HOME and no wardflow project at or above the current directory."""


STATE_FOLDER = ".wardflow"
_CHECKOUT = Path(__file__).resolve().parents[1]  # the project folder of an editable install


def is_project_root(folder: Path) -> bool:
    """Whether `folder` holds wardflow's workspace.yaml and a pyproject.toml naming the wardflow project."""
    pyproject = folder / "pyproject.toml"
    if not (folder / "workspace.yaml").is_file() or not pyproject.is_file():
        return False
    try:
        return tomllib.loads(pyproject.read_text()).get("project", {}).get("name") == "wardflow"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def find_project_root(start: Path) -> Path | None:
    """The nearest wardflow project folder at or above `start` (like git looking for .git)."""
    start = start.resolve()
    return next((folder for folder in (start, *start.parents) if is_project_root(folder)), None)


def resolve_home(env: Mapping[str, str], cwd: Path) -> tuple[Path, str]:
    """(state folder, how it was found). Raises ProjectNotFoundError rather than inventing a new one."""
    if env.get("WARDFLOW_HOME"):
        return Path(env["WARDFLOW_HOME"]).expanduser().resolve(), "WARDFLOW_HOME"
    found = find_project_root(cwd)
    if found is not None:
        return found / STATE_FOLDER, "project found from the current folder"
    if is_project_root(_CHECKOUT):
        return _CHECKOUT / STATE_FOLDER, "project this wardflow is installed from"
    raise ProjectNotFoundError(
        f"no wardflow project (workspace.yaml + pyproject.toml) in {cwd} or above it: "
        "cd into the project folder or set WARDFLOW_HOME to its state folder"
    )


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Resolve WARDFLOW_HOME, WARDFLOW_DATABASE_URL, WARDFLOW_MASTER_KEY, WARDFLOW_KEY_FILE and
    WARDFLOW_AUDIT_SYSLOG."""
    env = os.environ if env is None else env
    home, source = resolve_home(env, cwd or Path.cwd())
    key_file = Path(env["WARDFLOW_KEY_FILE"]) if env.get("WARDFLOW_KEY_FILE") else home / "secrets" / "master.key"
    return Settings(
        home=home,
        database_url=env.get("WARDFLOW_DATABASE_URL") or None,
        master_key=env.get("WARDFLOW_MASTER_KEY") or None,
        key_file=key_file,
        home_source=source,
        audit_syslog=env.get("WARDFLOW_AUDIT_SYSLOG") or None,
    )


def ensure_private_dir(path: Path) -> Path:
    """Create a folder readable by its owner only (secrets, cluster data)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path

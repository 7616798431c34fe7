"""Where wardflow keeps its state and which database it talks to.

Nothing is read from the environment at import time: call `load_settings()` at the edge (CLI, Dagster
resource, test fixture) and pass the result down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROLES = ("pipeline", "analyst", "compliance", "reader")
ROLE_NAMES = {role: f"wardflow_{role}" for role in ROLES}


@dataclass(frozen=True)
class Settings:
    """The resolved environment of one wardflow process (no secrets are held here, only where they live)."""

    home: Path
    database_url: str | None  # None: use the embedded cluster under home/pg
    master_key: str | None  # WARDFLOW_MASTER_KEY as given (never logged)
    key_file: Path

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def __repr__(self) -> str:  # keep the key out of every repr
        key = "set" if self.master_key else "unset"
        return f"Settings(home={self.home}, embedded={self.embedded}, master_key={key}, key_file={self.key_file})"


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Resolve WARDFLOW_HOME, WARDFLOW_DATABASE_URL, WARDFLOW_MASTER_KEY and WARDFLOW_KEY_FILE."""
    env = os.environ if env is None else env
    home = Path(env.get("WARDFLOW_HOME") or (cwd or Path.cwd()) / ".wardflow").resolve()
    key_file = Path(env["WARDFLOW_KEY_FILE"]) if env.get("WARDFLOW_KEY_FILE") else home / "secrets" / "master.key"
    return Settings(
        home=home,
        database_url=env.get("WARDFLOW_DATABASE_URL") or None,
        master_key=env.get("WARDFLOW_MASTER_KEY") or None,
        key_file=key_file,
    )


def ensure_private_dir(path: Path) -> Path:
    """Create a folder readable by its owner only (secrets, cluster data)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path

"""The warehouse as a Dagster resource. Settings and keys are read when a run asks, never at import."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import dagster as dg
import psycopg

from connectors.crypto import KeyRing, load_keyring
from connectors.settings import Settings, load_settings, session_options
from orchestration.warehouse.database import connect, role_params


def dbt_connection_env(settings: Settings, params: dict[str, str] | None = None) -> dict[str, str]:
    """Where dbt connects (no password, no key). `dbt parse` gets the same values as `dbt build`: dbt hashes
    host, port, user and database into partial_parse.msgpack and re-parses everything when they differ."""
    params = params or role_params(settings, "pipeline")
    return {
        "WARDFLOW_PG_HOST": params.get("host", "127.0.0.1"),
        "WARDFLOW_PG_PORT": params.get("port", "5432"),
        "WARDFLOW_PG_USER": params["user"],
        "WARDFLOW_PG_DBNAME": params.get("dbname", "wardflow"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_environment(settings: Settings, ring: KeyRing) -> dict[str, str]:
    """Environment for dbt: connection through env_var(), keys through PGOPTIONS (never in dbt's files)."""
    params = role_params(settings, "pipeline")
    return {
        **dbt_connection_env(settings, params),
        "DBT_ENV_SECRET_WARDFLOW_PG_PASSWORD": params.get("password", ""),
        "PGOPTIONS": session_options(ring.pg_options()),  # safe search_path first (issue 11); no audit key
    }


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the duration of one dbt invocation, then restore what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class WardflowWarehouse(dg.ConfigurableResource):
    """Connections to the wardflow database as each role; `home` overrides WARDFLOW_HOME."""

    home: str | None = None

    def settings(self) -> Settings:
        env = dict(os.environ)
        if self.home:
            env["WARDFLOW_HOME"] = self.home
        return load_settings(env)

    def keyring(self) -> KeyRing:
        return load_keyring(self.settings())

    def connect(self, role: str = "pipeline", *, with_keys: bool = False) -> psycopg.Connection:
        settings = self.settings()
        return connect(settings, role, keyring=load_keyring(settings) if with_keys else None)

    def dbt_env(self) -> dict[str, str]:
        settings = self.settings()
        return dbt_environment(settings, load_keyring(settings))

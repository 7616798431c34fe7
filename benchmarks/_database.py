"""What the benchmarks share: a wardflow database of their own (a fresh database on 127.0.0.1:5432 when that
server answers, trust auth, else on the embedded cluster; initialised with a fresh WARDFLOW_HOME and master
key; dropped afterwards), and the CPU model for the machine record."""

from __future__ import annotations

import platform
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

SYSTEM_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def system_pg_available() -> bool:
    try:
        with psycopg.connect(SYSTEM_PG, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextmanager
def bench_database(work: Path, *, embedded: bool = False) -> Iterator[tuple[dict[str, str], str]]:
    """(environment of a wardflow process on a fresh, initialised database, where it runs). The environment
    holds WARDFLOW_HOME (under `work`), WARDFLOW_DATABASE_URL and a random WARDFLOW_MASTER_KEY. `embedded`:
    use the embedded cluster even when 5432 answers. The database is dropped afterwards."""
    from connectors.settings import load_settings
    from orchestration.warehouse.database import init_database

    cluster = None
    if not embedded and system_pg_available():
        server_url, where = SYSTEM_PG, "127.0.0.1:5432"
    else:
        from orchestration.warehouse.embedded import EmbeddedPostgres

        cluster = EmbeddedPostgres(work / "embedded")
        cluster.start()
        server_url, where = cluster.admin_url("postgres"), "embedded"
    name = f"wardflow_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        try:
            env = {"WARDFLOW_HOME": str(work / "home"), "WARDFLOW_DATABASE_URL": make_conninfo(server_url, dbname=name),
                   "WARDFLOW_MASTER_KEY": secrets.token_hex(32)}
            init_database(load_settings(env))
            yield env, where
        finally:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    finally:
        if cluster is not None:
            cluster.destroy()  # a throwaway cluster: its data goes too


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()

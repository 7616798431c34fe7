"""The benchmarks' own database: a fresh one on 127.0.0.1:5432 when that server answers (trust auth),
else on the embedded cluster; dropped afterwards."""

from __future__ import annotations

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
def bench_database(work: Path) -> Iterator[tuple[str, str]]:
    """(admin URL of a fresh database, where it runs); the database is dropped afterwards."""
    cluster = None
    if system_pg_available():
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
            yield make_conninfo(server_url, dbname=name), where
        finally:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    finally:
        if cluster is not None:
            cluster.stop()

"""Publication: after a build, the release (analytics for wardflow_analyst, aggregates for wardflow_reader)
is left readable only when the build succeeded and every blocking check passed; otherwise SELECT on every
release table is revoked from those roles and an audit event names the failed checks (names only).

This is a step of its own, run after the checks (``wardflow run``, or the ``publication/release`` asset), not a
side effect inside a check, and the only grant the release readers get: dbt grants nothing in the release schemas
and they have no default privileges, so a table a build creates is unreadable until published, and a build revokes
SELECT on a release table in the same transaction as it writes into it (dbt pre-hook ``wardflow_close_release``,
macros/release.sql). No row of a build is readable before its checks passed; during a build the tables it rewrites
are closed to their readers (tests/integration/test_publication_window.py)."""

from __future__ import annotations

import json

import psycopg
from psycopg import sql

RELEASE = {"analytics": "wardflow_analyst", "aggregates": "wardflow_reader"}


def _tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute("select schemaname, tablename from pg_tables where schemaname = any(%s) order by 1, 2",
                        (list(RELEASE),)).fetchall()


def withdraw(conn: psycopg.Connection, failed: list[str]) -> int:
    """Revoke the release from its readers and record why; returns how many tables were withdrawn."""
    tables = _tables(conn)
    for schema, table in tables:
        conn.execute(sql.SQL("revoke select on {} from {}").format(sql.Identifier(schema, table),
                                                                   sql.Identifier(RELEASE[schema])))
    conn.execute("select audit.record('privacy.release_withdrawn', 'analytics', %s::jsonb)",
                 (json.dumps({"failed_checks": sorted(failed), "tables": len(tables)}),))
    conn.commit()
    return len(tables)


def publish(conn: psycopg.Connection) -> int:
    """Grant the release to its readers (what dbt's grants declare); returns how many tables."""
    tables = _tables(conn)
    for schema, table in tables:
        conn.execute(sql.SQL("grant select on {} to {}").format(sql.Identifier(schema, table),
                                                                sql.Identifier(RELEASE[schema])))
    conn.commit()
    return len(tables)


def settle(conn: psycopg.Connection, succeeded: bool, failed_checks: list[str]) -> bool:
    """Publish after a clean build, withdraw after any failure; True when published."""
    if succeeded and not failed_checks:
        publish(conn)
        return True
    withdraw(conn, failed_checks or ["build failed"])
    return False

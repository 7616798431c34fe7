"""Which state folder and which PostgreSQL a command uses, said in one line before it runs.

Read-only: looks at files and the process table, never creates, starts or connects to anything. The
server is named by host, port and database; the user name and password of a URL are never shown.
"""

from __future__ import annotations

from connectors.settings import Settings


def server_line(settings: Settings) -> str:
    """'embedded PostgreSQL 127.0.0.1:55432 (running)' or 'WARDFLOW_DATABASE_URL host:port/dbname'."""
    if settings.database_url:
        from orchestration.warehouse.database import DatabaseError, parse_url

        try:
            p = parse_url(settings.database_url)
        except DatabaseError:
            return "WARDFLOW_DATABASE_URL (malformed)"
        return f"WARDFLOW_DATABASE_URL {p.get('host', 'localhost')}:{p.get('port', '5432')}/{p.get('dbname', '')}"
    from orchestration.warehouse.embedded import EmbeddedPostgres

    status = EmbeddedPostgres(settings.home).status()
    if status.running:
        return f"embedded PostgreSQL 127.0.0.1:{status.port} (running)"
    if (status.data_dir / "PG_VERSION").exists():
        return "embedded PostgreSQL (stopped)"
    return "embedded PostgreSQL (not created yet)"


def state_line(settings: Settings) -> str:
    return f"state {settings.home} ({settings.home_source}) · server {server_line(settings)}"

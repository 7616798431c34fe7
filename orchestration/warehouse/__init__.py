"""The warehouse: PostgreSQL reached through psycopg and dbt-postgres (DESIGN decision 1)."""

from orchestration.warehouse.embedded import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    EmbeddedStatus,
    default_home,
    find_postgres_bin_dir,
)

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "EmbeddedStatus",
    "default_home",
    "find_postgres_bin_dir",
]

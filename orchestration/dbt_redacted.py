"""`wardflow-dbt`: dbt's own command line, with every database error reduced to its SQLSTATE.

PostgreSQL error texts quote values (``invalid input syntax for type date: "…"``) and their CONTEXT quotes rows
and JSON; dbt copies them into dbt.log, run_results.json and its structured output, which Dagster stores in its
event log. Here the dbt-postgres adapter raises instead "SQLSTATE 22008 (datetime_field_overflow)": dbt adds the
model name, and nothing of the value is ever in the process. Dagster runs dbt through this entry point
(orchestration/definitions.py); `dbt` itself stays unchanged for people debugging with their own data.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager


def redacted(exc: BaseException) -> str:
    """'SQLSTATE 22008 (datetime_field_overflow)': the class of a database error, none of its text."""
    from psycopg2 import errorcodes

    code = getattr(exc, "pgcode", None)
    if not code:
        return f"database error ({type(exc).__name__}, no SQLSTATE)"
    return f"SQLSTATE {code} ({(errorcodes.lookup(code) or 'unknown').lower()})"


def install() -> None:
    """Replace the adapter's exception handler (the one place dbt-postgres turns a driver error into text)."""
    import psycopg2
    from dbt.adapters.postgres.connections import PostgresConnectionManager
    from dbt_common.exceptions import DbtDatabaseError, DbtRuntimeError

    @contextmanager
    def exception_handler(self, sql):
        try:
            yield
        except psycopg2.DatabaseError as exc:
            try:
                self.rollback_if_open()
            except psycopg2.Error:
                pass
            raise DbtDatabaseError(redacted(exc)) from None
        except Exception as exc:
            self.rollback_if_open()
            if isinstance(exc, DbtRuntimeError):
                raise
            raise DbtRuntimeError(f"error running SQL ({type(exc).__name__})") from None

    PostgresConnectionManager.exception_handler = exception_handler  # type: ignore[method-assign]  # replacing dbt's handler is the point


def main() -> None:
    install()
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()

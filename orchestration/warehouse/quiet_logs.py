"""What the PostgreSQL server may write to its log for wardflow's roles: no statement text, no parameters and
no error messages (which quote values: `invalid input syntax for type date: "…"`).

`wardflow init` sets these per role (``ALTER ROLE … SET``), for the project's login roles and for the owner
that runs init. Most of them are superuser-only parameters: where the owner is not a superuser (a managed
database), those it may not set are reported, never silently assumed (docs/database.md says what then).
Nothing here logs; the report carries parameter and role names only.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from connectors.settings import ROLE_NAMES

# Each setting keeps one kind of value out of the server log for the role's sessions.
QUIET_SETTINGS = {
    "log_min_messages": "fatal",            # errors (their text quotes values) are not logged at all
    "log_min_error_statement": "panic",     # nor the statement that failed
    "log_error_verbosity": "terse",         # and if anything is: no DETAIL/CONTEXT (rows, JSON excerpts)
    "log_statement": "none",
    "log_min_duration_statement": "-1",     # slow statements are not logged with their parameters
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
}


# The roles people query through: the server logs each of their statements (text only: still no parameters,
# no error text) for `wardflow audit access` (orchestration/access.py). Their sessions never hold a key; the
# pipeline and the owner, whose sessions do, keep log_statement = none.
ACCESS_LOGGED_ROLES = ("analyst", "reader", "compliance")


def role_settings(role: str) -> dict[str, str]:
    """The log settings for a database role name: QUIET_SETTINGS, with every statement logged for the roles
    people query through."""
    logged = {ROLE_NAMES[r] for r in ACCESS_LOGGED_ROLES}
    # log_min_messages orders LOG above ERROR (…, WARNING, ERROR, LOG, FATAL, PANIC): 'log' lets the statement lines
    # through while error messages, which quote values, stay out
    audited = {**QUIET_SETTINGS, "log_statement": "all", "log_min_messages": "log"}
    return audited if role in logged else dict(QUIET_SETTINGS)


def quiet_role_logging(conn: psycopg.Connection) -> list[str]:
    """Apply role_settings to every project role and the current one; returns 'role.parameter' for each
    setting the current role may not make. ``conn`` must be in autocommit mode."""
    owner = str((conn.execute("select current_user").fetchone() or ("",))[0])
    missing = []
    for role in [*ROLE_NAMES.values(), owner]:
        for name, value in role_settings(role).items():
            statement = sql.SQL("alter role {} set {} = {}").format(
                sql.Identifier(role), sql.Identifier(name), sql.Literal(value))
            try:
                conn.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                missing.append(f"{role}.{name}")
    return missing


def role_log_settings(conn: psycopg.Connection, role: str) -> dict[str, str]:
    """The per-role settings in force for ``role`` (from pg_db_role_setting), as name → value."""
    rows = conn.execute(
        "select unnest(setconfig) from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
        "where r.rolname = %s and s.setdatabase = 0", (role,)).fetchall()
    return dict(row[0].split("=", 1) for row in rows)

"""Which PostgreSQL wardflow talks to, as which role, and how it is initialised.

`WARDFLOW_DATABASE_URL` names an owner/admin connection; without it the embedded cluster under
WARDFLOW_HOME is used. The three roles of DESIGN.md decision 7 connect with passwords kept in
`home/secrets/roles.json` (0600). Keys reach a pipeline session only as libpq options.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from connectors import auditlog
from connectors.crypto import KeyError_, KeyRing, load_keyring
from connectors.settings import ROLE_NAMES, Settings, ensure_private_dir, session_options
from orchestration.warehouse.quiet_logs import quiet_role_logging

SQL_DIR = Path(__file__).parent / "sql"
LANDING_SQL = Path(__file__).resolve().parents[2] / "connectors" / "sql" / "landing.sql"
EMBEDDED_DBNAME = "wardflow"


class DatabaseError(RuntimeError):
    """The database cannot be reached or initialised; the message names what and never a secret."""


def admin_url(settings: Settings, *, start: bool = True, create: bool = False) -> str:
    """Owner connection: WARDFLOW_DATABASE_URL, else the embedded cluster.

    `start` starts an existing, stopped cluster; only `create` (init, demo) may create one, so that a command
    run against the wrong state folder fails clearly instead of starting a second, empty server."""
    if settings.database_url:
        parse_url(settings.database_url)
        return settings.database_url
    from orchestration.warehouse.embedded import EmbeddedPostgres

    cluster = EmbeddedPostgres(settings.home)
    status = cluster.status()
    if not status.running and not create and not (status.data_dir / "PG_VERSION").exists():
        raise DatabaseError(f"no embedded PostgreSQL in state folder {settings.home} yet: run `wardflow init` "
                            "(or `make demo`), or set WARDFLOW_HOME / WARDFLOW_DATABASE_URL")
    if not status.running and (start or create):
        status = cluster.start()
    if not status.running:
        raise DatabaseError(f"embedded PostgreSQL in {settings.home} is not running: run `wardflow db start`")
    return cluster.admin_url(EMBEDDED_DBNAME)


def parse_url(url: str) -> dict[str, str]:
    """libpq parameters of a URL or conninfo string; the error never repeats the text (it may hold a password)."""
    try:
        return {k: str(v) for k, v in conninfo_to_dict(url).items()}
    except psycopg.ProgrammingError:
        raise DatabaseError("WARDFLOW_DATABASE_URL is malformed: write it as "
                            "postgresql://user:password@host:port/dbname, or unset it for the embedded server") from None


def role_passwords(settings: Settings, *, create: bool = False) -> dict[str, str]:
    path = settings.secrets_dir / "roles.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    if not create or set(ROLE_NAMES) <= set(known):
        return known
    # a role added since the file was written (wardflow_reader) gets a password of its own; others keep theirs
    passwords = {role: known.get(role) or secrets.token_urlsafe(24) for role in ROLE_NAMES}
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle)
    return passwords


def role_params(settings: Settings, role: str, *, start: bool = True, create: bool = False) -> dict[str, str]:
    """libpq parameters for one role (pipeline, analyst, compliance, reader) or 'admin'."""
    params = parse_url(admin_url(settings, start=start, create=create))
    if role == "admin":
        return params
    params["user"] = ROLE_NAMES[role]
    passwords = role_passwords(settings)
    if not passwords:
        raise DatabaseError(f"no role passwords in {settings.secrets_dir} (state folder {settings.home}): "
                            "run `wardflow init` with this state folder first")
    password = passwords.get(role)
    if password:
        params["password"] = password
    else:
        params.pop("password", None)
    return params


def role_url(settings: Settings, role: str, *, start: bool = True) -> str:
    """A postgresql:// URL for BI tools and psql (contains that role's password, never a key)."""
    from urllib.parse import quote

    p = role_params(settings, role, start=start)
    auth = quote(p["user"], safe="")
    if p.get("password"):
        auth += ":" + quote(p["password"], safe="")
    host = p.get("host", "127.0.0.1")
    return f"postgresql://{auth}@{host}:{p.get('port', '5432')}/{p.get('dbname', '')}"


def scalar(cursor: psycopg.Cursor) -> Any:
    """The first value of a query that returns one row by construction (a count, to_regclass, current_user)."""
    row = cursor.fetchone()
    if row is None:
        raise DatabaseError("a single-row query returned no row")
    return row[0]


def connect(settings: Settings, role: str = "pipeline", *, keyring: KeyRing | None = None,
            autocommit: bool = False, start: bool = True) -> psycopg.Connection:
    """Open a connection as `role` with the safe search_path; with a key ring, the session gets the purpose keys as
    options. Pipeline, ingest and admin sessions also get the audit key (when a ring is configured) to append events.
    `start=False` for read-only commands: a stopped embedded server stays stopped."""
    params = role_params(settings, role, start=start)
    params["options"] = session_options(keyring.pg_options() if keyring is not None else "",
                                        _audit_options(settings, role, keyring))
    params.setdefault("application_name", f"wardflow-{role}")
    return _open(settings, params, role, autocommit=autocommit)


def _open(settings: Settings, params: dict[str, str], role: str, *, autocommit: bool) -> psycopg.Connection:
    try:
        return psycopg.connect(make_conninfo(**params), autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise DatabaseError(connect_failure(settings, params, role, _first_line(exc))) from None


def connect_failure(settings: Settings, params: dict[str, str], role: str, cause: str) -> str:
    """One line: what failed and what to do, from libpq's first line (which holds no secret or data value)."""
    where = f"{params.get('host', 'localhost')}:{params.get('port', '5432')}"
    dbname = params.get("dbname", "")
    if f'database "{dbname}" does not exist' in cause:
        return (f"database {dbname} does not exist on {where}: create it (createdb --encoding=UTF8 "
                f"--template=template0 {dbname}) or fix WARDFLOW_DATABASE_URL")
    if "role" in cause and "does not exist" in cause:
        return f"cannot connect as {role} to {where}: the role does not exist; run `wardflow init`"
    if "password authentication failed" in cause or "no password supplied" in cause:
        fix = ("fix the password in WARDFLOW_DATABASE_URL" if role == "admin" else
               f"the passwords in {settings.secrets_dir} belong to another database; run `wardflow init` "
               "with this state folder, or set WARDFLOW_HOME to the right one")
        return f"cannot connect as {role} to {where}: password rejected; {fix}"
    if "refused" in cause or "timeout" in cause or "could not translate host name" in cause:
        return (f"no PostgreSQL answers at {where}: start it (`wardflow db start` for the embedded one) "
                "or fix WARDFLOW_DATABASE_URL")
    return f"cannot connect as {role} to {where} ({cause})"


def _audit_options(settings: Settings, role: str, keyring: KeyRing | None) -> str:
    if role not in ("pipeline", "ingest", "admin"):
        return ""
    try:
        ring = keyring if keyring is not None else load_keyring(settings)
    except KeyError_:
        return ""  # no key configured: this session cannot append audit events (audit.record says why)
    return f"{ring.audit_options()} {auditlog.operator_option()}"  # events name the person, not only the role


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass(frozen=True)
class InitReport:
    database: str
    embedded: bool
    key_versions: list[int]
    key_created: bool
    roles: list[str]
    warnings: list[str]
    log_settings_not_set: list[str] = field(default_factory=list)  # role.parameter the owner may not set

    def as_dict(self) -> dict:
        return self.__dict__.copy()


# The SQL twin of the scrubber is gone (free text is scrubbed once, in Python): drop it from older databases.
DROP_SQL_SCRUBBER = "drop function if exists vault.scrub_text(text, jsonb); drop function if exists vault.scrub_patterns(text)"


MAINTENANCE_SQL = SQL_DIR / "embedded" / "maintenance_databases.sql"
OPEN_MAINTENANCE = ("select d.datname::text from pg_catalog.pg_database d where d.datname in ('postgres', 'template1') "
                    "and pg_catalog.has_database_privilege('wardflow_analyst', d.datname, 'connect') order by 1")


def init_database(settings: Settings, *, lock_maintenance: bool | None = None) -> InitReport:
    """Extensions, roles, schemas, grants, crypto functions, audit chain, landing tables. Idempotent.

    `lock_maintenance` (default: only on the embedded cluster) revokes CONNECT on postgres/template1 from PUBLIC,
    which on a shared server changes them for everyone: there it is the DBA's step, and init warns instead."""
    params = role_params(settings, "admin", create=True)
    params["options"] = session_options("")
    with _open(settings, params, "admin", autocommit=True):  # reach the server before creating files
        pass
    key_existed = bool(settings.master_key) or settings.key_file.exists()
    ring = load_keyring(settings, create=True)
    passwords = role_passwords(settings, create=True)
    # The owner session is the most privileged one: safe search_path from the first statement on (issue 11).
    params["options"] = session_options(ring.audit_options(), auditlog.operator_option())
    warnings: list[str] = []
    with _open(settings, params, "admin", autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: _keep_warning(diag, warnings))
        encoding = conn.info.parameter_status("server_encoding")
        if encoding != "UTF8":  # names in any script (GB 18030, Latin, …) and staging's text-built documents
            raise DatabaseError(f"database {params.get('dbname', '')} has encoding {encoding}: wardflow needs a UTF8 "
                                "database (createdb --encoding=UTF8 --template=template0)")
        conn.execute("select pg_catalog.pg_advisory_lock(pg_catalog.hashtext('wardflow.init'))")
        try:
            for path in sorted(SQL_DIR.glob("*.sql")) + [LANDING_SQL]:
                conn.execute(path.read_text())
            conn.execute(DROP_SQL_SCRUBBER)
            if settings.embedded if lock_maintenance is None else lock_maintenance:
                conn.execute(MAINTENANCE_SQL.read_text())
            else:
                warnings.extend(f"the wardflow roles can connect to database {db} (a shared server: a DBA can "
                                f"REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC, or run `wardflow init "
                                "--lock-maintenance-databases`)" for (db,) in conn.execute(OPEN_MAINTENANCE))
            for role, name in ROLE_NAMES.items():
                verifier = conn.pgconn.encrypt_password(passwords[role].encode(), name.encode(), b"scram-sha-256")
                conn.execute(sql.SQL("alter role {} with login password {}").format(
                    sql.Identifier(name), sql.Literal(verifier.decode())))
            quiet = quiet_role_logging(conn)
            auditlog.record(conn, "database.init", params.get("dbname", ""),
                            {"key_versions": ring.versions, "embedded": settings.embedded, "warnings": len(warnings)})
            auditlog.anchor(settings, conn)
        finally:
            conn.execute("select pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('wardflow.init'))")
    return InitReport(params.get("dbname", ""), settings.embedded, ring.versions, not key_existed,
                      list(ROLE_NAMES.values()), warnings, quiet)


def _keep_warning(diag: psycopg.errors.Diagnostic, warnings: list[str]) -> None:
    """Init's own WARNINGs (limits the owner connection could not set) are shown to the user."""
    if diag.severity_nonlocalized == "WARNING" and diag.message_primary:
        warnings.append(diag.message_primary)

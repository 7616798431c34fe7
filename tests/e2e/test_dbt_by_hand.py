"""dbt by hand: `wardflow dbt …` runs dbt as typed against the project's database (from any folder, no keys on
the command line), and `wardflow docs` builds the dbt docs and serves them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def wardflow(args, env, cwd, **kwargs):
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], env={**os.environ, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=600, **kwargs)


def test_dbt_show_runs_as_the_pipeline_role_from_any_folder(built, wardflow_env, tmp_path, keyring):
    result = wardflow(["dbt", "show", "--inline", "select current_user as who, count(*) as n "
                       "from {{ ref('fct_vital_signs') }}"], wardflow_env, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "wardflow_pipeline" in result.stdout
    for secret in keyring.secret_strings():
        assert secret not in result.stdout + result.stderr


def test_dbt_exit_status_is_passed_on(initialised, wardflow_env, tmp_path):
    result = wardflow(["dbt", "no-such-dbt-command"], wardflow_env, tmp_path)
    assert result.returncode == 2 and "no-such-dbt-command" in result.stdout + result.stderr


def test_docs_are_built_and_served(built, wardflow_env, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (tmp_path / "docs.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "docs", "--port", str(port)],
                              env={**os.environ, **wardflow_env}, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        catalog = None
        deadline = time.monotonic() + 300
        while catalog is None and time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "docs.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json", timeout=10) as response:  # noqa: S310
                    catalog = json.loads(response.read())
            except OSError:
                time.sleep(1)
        assert catalog is not None, (tmp_path / "docs.log").read_text()[-3000:]
        assert "model.wardflow.fct_vital_signs" in catalog["nodes"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10) as response:  # noqa: S310
            assert b"dbt" in response.read()
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        log.close()

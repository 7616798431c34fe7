"""`wardflow ui` as a newcomer starts it: the code location loads, the asset graph and the run history of
`wardflow run` are there, and the asset graph page renders in a real browser (headless Chromium).

The screenshot is saved as docs/img/asset-graph.png, which docs/getting-started.md shows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "img" / "asset-graph.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1600,1000", "--virtual-time-budget=20000"]
LOCATION_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { name assetNodes { id } } }
  ... on PythonError { message } } } } } }"""
RUNS_QUERY = "{ runsOrError { __typename ... on Runs { results { runId status jobName } } } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())["data"]


def wait_for_location(port: int, server: subprocess.Popen, log: Path, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"wardflow ui exited {server.returncode}: {log.read_text()[-3000:]}"
        try:
            entries = graphql(port, LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
        except (OSError, KeyError, ValueError):
            time.sleep(1)
            continue
        if entries and entries[0]["loadStatus"] == "LOADED":
            return entries[0]
        time.sleep(1)
    raise AssertionError(f"code location not loaded in {timeout}s: {log.read_text()[-3000:]}")


@pytest.fixture
def ui_server(built, wardflow_env, tmp_path):
    """`wardflow ui` on a free loopback port, with PATH holding no venv (nothing activated)."""
    port = free_port()
    log = tmp_path / "ui.log"
    env = {**os.environ, **wardflow_env, "PATH": "/usr/bin:/bin"}
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "ui", "--port", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True)
    try:
        yield port, server, log
    finally:
        _stop_group(server)


def _stop_group(server: subprocess.Popen) -> None:
    """SIGINT to the whole group (dagster dev and its webserver, daemon, code server), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
            time.sleep(1)  # let the group's children follow their parent
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_ui_loads_the_graph_and_the_run_history(ui_server, built):
    port, server, log = ui_server
    location = wait_for_location(port, server, log)
    repository = location["locationOrLoadError"]["repositories"][0]
    keys = {node["id"].rsplit(".", 1)[-1] for node in repository["assetNodes"]}
    assert len(keys) >= 20
    assert {"landing/hl7_messages", "analytics/vital_signs", "clinical/fct_vital_signs"} <= keys
    runs = graphql(port, RUNS_QUERY)["runsOrError"]["results"]
    assert built[1].run_id in {run["runId"] for run in runs}, "the UI does not show `wardflow run`'s history"

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium (scripts/ensure-chromium installs it as root)")
    page = f"http://127.0.0.1:{port}/asset-groups"
    profile = log.parent / "chromium-profile"
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-dom", "--dump-dom", page],
                         capture_output=True, text=True, timeout=180)
    assert "Global asset lineage" in dom.stdout and "analytics" in dom.stdout and "vault" in dom.stdout
    assert "Join the Dagster community" not in dom.stdout  # no dialog over the graph
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-shot", f"--screenshot={SCREENSHOT}",
                           page], capture_output=True, text=True, timeout=180)
    assert shot.returncode == 0 and SCREENSHOT.stat().st_size > 20_000
    assert "asset-graph.png" in (REPO / "docs" / "getting-started.md").read_text()

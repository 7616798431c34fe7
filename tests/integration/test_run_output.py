"""What `wardflow run` says: a summary that fits 80 columns, no "severity ERROR" on passed checks, dbt's and
Dagster's lines in a log file whose path is printed, partial parsing kept across runs, progress from dbt."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from orchestration.runner import _DbtLines

PROFILE_CHANGED = "Unable to do partial parsing"


def test_the_built_run_kept_its_log_and_parsed_partially(built):
    _, outcome = built
    log = outcome.log_path.read_text()
    assert re.search(r"Found \d+ models", log)
    assert PROFILE_CHANGED not in log, [line for line in log.splitlines() if PROFILE_CHANGED in line]


def test_wardflow_run_summary_is_short_and_fits_80_columns(built, wardflow_env):
    env = {**os.environ, **wardflow_env, "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], capture_output=True, text=True,
                            env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.stdout == "" and len(lines) <= 6, lines
    assert all(len(line) <= 80 or line.startswith(("state ", "dbt and Dagster log: ")) for line in lines), lines
    assert "severity" not in result.stderr and "ERROR" not in result.stderr
    assert re.search(r"\d+ checks passed, 0 failed", result.stderr) and lines[-1] == "run succeeded"
    log_line = next(line for line in lines if line.startswith("dbt and Dagster log: "))
    log = open(log_line.split(": ", 1)[1]).read()
    assert "OK created" in log and PROFILE_CHANGED not in log


def test_progress_follows_dbt_result_lines():
    seen: list[tuple[int, int, str]] = []
    sink = io.StringIO()
    lines = _DbtLines(sink, lambda *args: seen.append(args))
    lines.write("1 of 1 START hook: wardflow.on-run-start.0 ....... [RUN]\n1 of 1 OK hook: wardflow.on-run-start.0 ")
    lines.write("....... [\x1b[32mOK\x1b[0m in 0.05s]\n")
    lines.write("1 of 53 START sql table model audit.column_classification ........ [RUN]\n")
    lines.write("4 of 53 OK loaded seed file clinical.vital_sign_codes ....... [INSERT 24 in 0.17s]\n")
    lines.write("9 of 53 PASS unique_vault_devices_device_key ........ [PASS in 0.07s]\n12 of 53 ERROR creat")
    lines.write("ing sql table model clinical.x ....... [ERROR in 0.1s]\n")
    assert [(done, total) for done, total, _ in seen] == [(1, 53), (2, 53), (3, 53)]
    assert "clinical.vital_sign_codes" in seen[0][2] and "unique_vault_devices_device_key" in seen[1][2]
    assert "START" in sink.getvalue() and sink.getvalue().count("\n") == 6

"""`wardflow run`: materialize the whole graph in-process, with run history kept under WARDFLOW_HOME so
that `wardflow ui` shows the same runs.

What the terminal gets: one progress bar fed by dbt's "N of M" lines, then a summary that fits 80 columns.
dbt's lines and Dagster's own log go to a file under home/logs whose path is printed. A failure is told in
one line (the step and the cause of our own errors; only the error type of anything else, which may quote
a value). Nothing here logs keys or data values.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from connectors.settings import Settings

Progress = Callable[[int, int, str], None]  # (done, total, what just finished)
_DBT_RESULT = re.compile(r"^\s*(\d+) of (\d+) (OK|PASS|FAIL|ERROR|WARN|SKIP)\b(?! hook)\s*(.*?)\s*\.{2,}")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_log = logging.getLogger(__name__)
RELEASE_JOBS = frozenset({"wardflow_all", "build_downstream"})  # the jobs that rebuild analytics and aggregates


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one line per failed step: step, cause
    assets: int = 0
    log_path: Path | None = None
    steps_succeeded: int = 0
    invalid_values: int | None = None  # fields nulled by staging's total casts in this run (audit.invalid_values)

    @property
    def blocking_failures(self) -> list[dict]:
        return [c for c in self.checks if not c["passed"] and c["blocking"]]

    @property
    def ok(self) -> bool:
        return self.success and not self.blocking_failures

    def as_dict(self) -> dict:
        return {"ok": self.ok, "run_id": self.run_id, "success": self.success, "seconds": round(self.seconds, 1),
                "failed_steps": self.failed_steps, "failures": self.failures, "checks": self.checks,
                "assets_materialized": self.assets, "log": str(self.log_path) if self.log_path else None,
                "checks_passed": sum(c["passed"] for c in self.checks),
                "checks_failed": sum(not c["passed"] for c in self.checks), "invalid_values": self.invalid_values}

    def print(self, console: Console) -> None:
        """Counts, then only the checks that failed (a passed check needs no row), then one verdict line."""
        passed = sum(c["passed"] for c in self.checks)
        console.print(f"run {self.run_id[:8]}: {self.assets} assets built, {passed} checks passed, "
                      f"{len(self.checks) - passed} failed ({self.seconds:.0f}s)")
        failed = [c for c in self.checks if not c["passed"]]
        if failed:
            table = Table("asset", "check", "blocks publication", title="failed checks")
            for c in failed:
                table.add_row(c["asset"], c["check"], "[red]yes[/red]" if c["blocking"] else "no (warning)")
            console.print(table)
        if self.invalid_values:
            console.print(f"{self.invalid_values} landed values could not be read as the date, time or number their "
                          "field holds and were left empty: fields and rules in audit.invalid_values", highlight=False)
        if self.log_path:
            console.print(f"dbt and Dagster log: {self.log_path}", highlight=False)
        if self.ok:
            console.print("[green]run succeeded[/green]")
        elif self.failures:
            console.print(f"[red]error:[/red] {self.failures[0]}; details: `wardflow ui` (run {self.run_id[:8]}) "
                          "or the log above", highlight=False)
        else:
            console.print(f"[red]error:[/red] {len(self.blocking_failures)} blocking checks failed, so what depends "
                          "on them was not published; see the table above and the log", highlight=False)


def ensure_dagster_home(settings: Settings) -> str:
    """DAGSTER_HOME as set, else home/dagster (run history shared by `wardflow run` and `wardflow ui`)."""
    import os

    home = os.environ.get("DAGSTER_HOME") or str(settings.home / "dagster")
    os.makedirs(home, exist_ok=True)
    os.environ["DAGSTER_HOME"] = home
    config = Path(home) / "dagster.yaml"
    text = config.read_text() if config.exists() else "telemetry:\n  enabled: false\n"
    if "nux:" not in text:  # the "join the community" dialog would cover the graph of every first visit
        config.write_text(text.rstrip("\n") + "\nnux:\n  enabled: false\n")
    return home


def preflight(settings: Settings) -> None:
    """Fail in one line before Dagster starts: server reachable, database initialised, key present."""
    from connectors.crypto import load_keyring
    from orchestration.errors import WardflowError
    from orchestration.warehouse.database import connect, scalar

    with connect(settings, "pipeline") as conn:
        ready = scalar(conn.execute("select to_regclass('landing.ingest_batches') is not null"))
        dbname = conn.info.dbname
    if not ready:
        raise WardflowError(f"database {dbname} is not initialised: run `wardflow init` first")
    load_keyring(settings)


class _DbtLines(io.TextIOBase):
    """A stdout stand-in: every line goes to the log file; dbt's "N of M OK|PASS|…" lines feed `progress`."""

    def __init__(self, log: io.TextIOBase, progress: Progress | None) -> None:
        self._log, self._progress, self._pending, self.done = log, progress, "", 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._log.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            match = _DBT_RESULT.match(_ANSI.sub("", line))
            if match and self._progress is not None:
                self.done += 1
                self._progress(self.done, int(match.group(2)), match.group(4))
        return len(text)

    def flush(self) -> None:
        self._log.flush()


def default_log(settings: Settings) -> Path:
    return settings.home / "logs" / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"


def run_everything(settings: Settings, job_name: str = "wardflow_all", log_level: str = "INFO",
                   dbt_log: Path | None = None, progress: Progress | None = None,
                   debug: bool = False) -> RunOutcome:
    """Run the job in-process and audit it (`pipeline.run`, failed runs and runs that raise included); dbt's
    lines and Dagster's log go to `dbt_log` (default home/logs/run-*.log) so that stdout stays free for
    `--json`; with `debug`, Dagster's log goes to stderr as well."""
    preflight(settings)  # before importing Dagster: a setup problem fails in a second, in one line
    started, since = time.perf_counter(), datetime.now(UTC)
    try:
        outcome = _execute(settings, job_name, log_level, dbt_log, progress, debug)
        outcome.invalid_values = invalid_values_found(settings, since)
    except BaseException as exc:
        audit_run(settings, {"run_id": None, "job": job_name, "success": False, "failed_steps": ["(before any step)"],
                             "error": type(exc).__name__, "seconds": round(time.perf_counter() - started, 1)})
        raise
    audit_run(settings, {"job": job_name, **{k: v for k, v in outcome.as_dict().items() if k != "checks"},
                         "steps_succeeded": outcome.steps_succeeded,
                         "blocking_failures": len(outcome.blocking_failures),
                         "failed_checks": sorted(f"{c['asset']}:{c['check']}{' (blocking)' if c['blocking'] else ''}"
                                                 for c in outcome.checks if not c["passed"])})
    return outcome


def invalid_values_found(settings: Settings, since: datetime) -> int | None:
    """Fields the build's total casts turned into null since `since` (a count: the rows name field and rule only);
    None when the findings table is not there (a run that built no audit models) or cannot be read."""
    import psycopg

    from orchestration.warehouse.database import DatabaseError, connect, scalar

    try:
        with connect(settings, "pipeline", autocommit=True) as conn:
            if scalar(conn.execute("select pg_catalog.to_regclass('audit.invalid_values')")) is None:
                return None
            return int(scalar(conn.execute("select coalesce(sum(occurrences), 0)::bigint from audit.invalid_values "
                                            "where found_at >= %s", (since,))))
    except (psycopg.Error, DatabaseError):
        return None


def audit_run(settings: Settings, details: dict) -> None:
    """One `pipeline.run` event per run, then the head anchored; a database that is down is logged, not raised
    (the run's own outcome is what the caller reports)."""
    import psycopg

    from connectors import auditlog
    from orchestration.warehouse.database import DatabaseError, connect

    try:
        with connect(settings, "pipeline", autocommit=True) as conn:
            auditlog.record(conn, "pipeline.run", str(details.get("run_id") or ""), details)
            auditlog.anchor(settings, conn)
    except (psycopg.Error, DatabaseError) as exc:
        _log.warning("pipeline.run not audited (SQLSTATE %s)", getattr(exc, "sqlstate", None) or type(exc).__name__)


def _execute(settings: Settings, job_name: str, log_level: str, dbt_log: Path | None, progress: Progress | None,
             debug: bool) -> RunOutcome:
    """The job run between an OpenLineage START and its COMPLETE or FAIL (orchestration/openlineage.py)."""
    from orchestration import openlineage

    lineage_run = openlineage.run_started(settings, job_name)
    try:
        outcome = _execute_job(settings, job_name, log_level, dbt_log, progress, debug)
    except BaseException as exc:
        openlineage.run_finished(settings, lineage_run, job_name, ok=False, error=type(exc).__name__)
        raise
    openlineage.run_finished(settings, lineage_run, job_name, ok=outcome.ok, dagster_run_id=outcome.run_id,
                             error=", ".join(outcome.failed_steps + [c["check"] for c in outcome.blocking_failures]))
    return outcome


def _execute_job(settings: Settings, job_name: str, log_level: str, dbt_log: Path | None, progress: Progress | None,
                 debug: bool) -> RunOutcome:
    import dagster as dg

    from orchestration.project import prepare_manifest
    from orchestration.resources import dbt_connection_env

    ensure_dagster_home(settings)
    prepare_manifest(dbt_connection_env(settings))
    from orchestration.definitions import defs

    log_path = dbt_log or default_log(settings)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(log_path.open("a"))
        stack.enter_context(contextlib.redirect_stdout(_DbtLines(log, progress)))
        if not debug:
            stack.enter_context(contextlib.redirect_stderr(log))
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=dg.DagsterInstance.get(), raise_on_error=False,
            tags={"wardflow/publication": "runner"},  # publication settled below, not by the failure sensor
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
    outcome = _outcome(result, time.perf_counter() - started, log_path)
    if job_name in RELEASE_JOBS:  # a job that builds no release (ingest only) neither publishes nor withdraws it
        settle_publication(settings, outcome)
    return outcome


def _outcome(result, seconds: float, log_path: Path) -> RunOutcome:
    checks = [{"asset": "/".join(e.asset_key.path), "check": e.check_name, "passed": e.passed,
               "severity": e.severity.value, "blocking": _blocking(e)}
              for e in result.get_asset_check_evaluations()]
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key]
    succeeded = sum(e.event_type_value == "STEP_SUCCESS" for e in result.all_events)
    return RunOutcome(
        result.run_id, result.success, seconds, [e.step_key for e in failures],
        sorted(checks, key=lambda c: (c["asset"], c["check"])),
        [f"step {e.step_key} failed: {_cause(e.step_failure_data.error)}" for e in failures],
        len(result.get_asset_materialization_events()), log_path, succeeded)


def _blocking(evaluation) -> bool:
    """A failed check blocks publication when it is blocking (GX suites) or a dbt test at severity error."""
    return bool(getattr(evaluation, "blocking", False)) or evaluation.severity.value == "ERROR"


def _cause(error) -> str:
    """The innermost cause: its message when it is one of our own explained errors, else only its type."""
    from orchestration.errors import explained_names

    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "unknown error"
    if error.cls_name in explained_names():
        first = (error.message.strip().splitlines() or [error.cls_name])[0]
        return re.sub(rf"^[\w.]*\b{re.escape(error.cls_name)}: ", "", first)
    return f"{error.cls_name} (its message may quote data, so it is only in the log)"


def settle_publication(settings: Settings, outcome: RunOutcome) -> bool:
    """The publication step: the release stays readable only after a clean run (orchestration/publication.py)."""
    from orchestration.publication import settle
    from orchestration.warehouse.database import connect

    failed = [f"{c['asset']}:{c['check']}" for c in outcome.blocking_failures]
    with connect(settings, "pipeline") as conn:
        return settle(conn, outcome.success, failed)

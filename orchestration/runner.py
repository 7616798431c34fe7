"""`wardflow run`: materialize the whole graph in-process, with run history kept under WARDFLOW_HOME so
that `dagster dev` shows the same runs."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from connectors.settings import Settings


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)

    @property
    def blocking_failures(self) -> list[dict]:
        return [c for c in self.checks if not c["passed"] and c["severity"] == "ERROR"]

    @property
    def ok(self) -> bool:
        return self.success and not self.blocking_failures

    def as_dict(self) -> dict:
        return {"ok": self.ok, "run_id": self.run_id, "success": self.success, "seconds": round(self.seconds, 1),
                "failed_steps": self.failed_steps, "checks": self.checks,
                "checks_passed": sum(c["passed"] for c in self.checks),
                "checks_failed": sum(not c["passed"] for c in self.checks)}

    def print(self, console: Console) -> None:
        table = Table("asset", "check", "result", "severity", title=f"run {self.run_id[:8]} ({self.seconds:.0f}s)")
        for c in self.checks:
            verdict = "[green]passed[/green]" if c["passed"] else "[red]failed[/red]"
            table.add_row(c["asset"], c["check"], verdict, c["severity"])
        console.print(table)
        if self.failed_steps:
            console.print(f"[red]failed steps:[/red] {', '.join(self.failed_steps)}")
        console.print("[green]run succeeded[/green]" if self.ok else "[red]run failed[/red]")


def ensure_dagster_home(settings: Settings) -> str:
    home = os.environ.get("DAGSTER_HOME") or str(settings.home / "dagster")
    os.makedirs(home, exist_ok=True)
    os.environ["DAGSTER_HOME"] = home
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config):
        with open(config, "w") as handle:
            handle.write("telemetry:\n  enabled: false\n")
    return home


def run_everything(settings: Settings, job_name: str = "wardflow_all", log_level: str = "WARNING",
                   dbt_log: Path | None = None) -> RunOutcome:
    """Run the job in-process. dbt's own progress lines go to stderr, or to `dbt_log` when given, so that
    stdout stays free for `--json`."""
    import dagster as dg

    from orchestration.project import prepare_manifest

    ensure_dagster_home(settings)
    prepare_manifest()
    from orchestration.definitions import defs

    started = time.perf_counter()
    instance = dg.DagsterInstance.get()
    with contextlib.ExitStack() as stack:
        if dbt_log is not None:
            dbt_log.parent.mkdir(parents=True, exist_ok=True)
            target = stack.enter_context(dbt_log.open("a"))
        else:
            target = sys.stderr
        stack.enter_context(contextlib.redirect_stdout(target))
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
    checks = [{"asset": "/".join(e.asset_key.path), "check": e.check_name, "passed": e.passed,
               "severity": e.severity.value} for e in result.get_asset_check_evaluations()]
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key]
    outcome = RunOutcome(result.run_id, result.success, time.perf_counter() - started, failed,
                         sorted(checks, key=lambda c: (c["asset"], c["check"])))
    settle_publication(settings, outcome)
    return outcome


def settle_publication(settings: Settings, outcome: RunOutcome) -> bool:
    """The publication step: the release stays readable only after a clean run (orchestration/publication.py)."""
    from orchestration.publication import settle
    from orchestration.warehouse.database import connect

    failed = [f"{c['asset']}:{c['check']}" for c in outcome.blocking_failures]
    with connect(settings, "pipeline") as conn:
        return settle(conn, outcome.success, failed)

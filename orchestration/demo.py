"""`wardflow demo` / `make demo`: one pass through every layer on a small synthetic hospital."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from connectors.settings import Settings


def run_demo(settings: Settings, *, patients: int, days: int, devices: int, seed: int, console: Console) -> dict:
    from connectors.crypto import load_keyring
    from connectors.ingest import ingest_paths
    from connectors.synthetic import generate
    from orchestration.reports import write_classification_report
    from orchestration.runner import run_everything
    from orchestration.status import collect_status
    from orchestration.warehouse.database import connect, init_database

    started = time.perf_counter()
    with console.status("initialising the database"):
        init_database(settings)
    out = settings.home / "demo" / f"seed-{seed}"
    with console.status(f"generating {patients} patients × {days} days × {devices} devices"):
        generated = generate(out, patients=patients, days=days, devices=devices, seed=seed)
    with console.status("ingesting"), connect(settings, "pipeline") as conn:
        ingested = ingest_paths([out], conn, load_keyring(settings))
    with console.status("building vault → clinical → analytics and running the checks"):
        outcome = run_everything(settings, dbt_log=settings.home / "logs" / "demo-run.log")
    reports = write_classification_report(settings.home / "reports")
    status = collect_status(settings)
    summary = {
        "ok": outcome.ok,
        "seconds": round(time.perf_counter() - started, 1),
        "generated": generated.as_dict(),
        "ingest": ingested.as_dict(),
        "layers": status["layers"],
        "relations": status["relations"],
        "checks": {"passed": sum(c["passed"] for c in outcome.checks),
                   "failed": sum(not c["passed"] for c in outcome.checks), "details": outcome.checks},
        "next": {"analyst_dsn_command": "wardflow db url --role analyst",
                 "report": str(reports["markdown"]), "dagster": "dagster dev -w workspace.yaml"},
    }
    _print(summary, console, reports["markdown"])
    return summary


def _print(summary: dict, console: Console, report: Path) -> None:
    i, checks = summary["ingest"], summary["checks"]
    console.rule("wardflow demo")
    console.print(f"messages: [green]{i['landed']} landed[/green], {i['duplicates']} duplicate, "
                  f"[yellow]{i['rejected']} rejected[/yellow] ({i['files']} files)")
    console.print("rows per layer: " + ", ".join(f"{k} {v}" for k, v in summary["layers"].items()))
    console.print(f"checks: [green]{checks['passed']} passed[/green], "
                  f"{'[red]' if checks['failed'] else ''}{checks['failed']} failed{'[/red]' if checks['failed'] else ''}")
    console.print("next:")
    console.print("  analyst DSN (read-only, analytics only):  wardflow db url --role analyst")
    console.print(f"  classification report:                    {report}")
    console.print("  asset graph and run history:              .venv/bin/dagster dev -w workspace.yaml")
    console.print(f"[{'green' if summary['ok'] else 'red'}]demo {'succeeded' if summary['ok'] else 'FAILED'}"
                  f"[/] in {summary['seconds']}s")

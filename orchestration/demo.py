"""`wardflow demo` / `make demo`: one pass through every layer on a small synthetic hospital."""

from __future__ import annotations

import sys
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
    from orchestration.ui import write_dotenv
    from orchestration.warehouse.database import connect, init_database

    started = time.perf_counter()
    with console.status("initialising the database"):
        init_database(settings)
    out = settings.home / "demo" / f"seed-{seed}"
    with console.status(f"generating {patients} patients × {days} days × {devices} devices"):
        generated = generate(out, patients=patients, days=days, devices=devices, seed=seed)
    with console.status("ingesting"), connect(settings, "ingest") as conn:
        ingested = ingest_paths([out], conn, load_keyring(settings))
    with console.status("building vault → clinical → analytics and running the checks"):
        outcome = run_everything(settings, dbt_log=settings.home / "logs" / "demo-run.log")
    write_dotenv(settings)  # a bare `dagster dev` in the project folder then shows this run too
    reports = write_classification_report(settings.home / "reports")
    status = collect_status(settings)
    summary = {
        "ok": outcome.ok,
        "seconds": round(time.perf_counter() - started, 1),
        "generated": generated.as_dict(),
        "ingest": ingested.as_dict(),
        "landing": {"hl7_messages": status["relations"].get("landing.hl7_messages") or 0,
                    "fhir_resources": status["relations"].get("landing.fhir_resources") or 0},
        "layers": {k: v for k, v in status["layers"].items() if k != "landing"},
        "relations": status["relations"],
        "checks": {"passed": sum(c["passed"] for c in outcome.checks),
                   "failed": sum(not c["passed"] for c in outcome.checks), "details": outcome.checks},
        "next": next_commands(reports["markdown"]),
        "log": str(outcome.log_path),
    }
    _print(summary, console)
    return summary


def wardflow_command() -> str:
    """How to type `wardflow` from the current folder (the venv is never assumed to be on PATH)."""
    exe = Path(sys.executable).with_name("wardflow")
    try:
        return str(exe.relative_to(Path.cwd()))  # ".venv/bin/wardflow": a slash, so the shell runs it as typed
    except ValueError:
        return str(exe)


def next_commands(report: Path) -> dict[str, str]:
    """Commands that run as typed from the current folder (make targets only in the project folder)."""
    wardflow = wardflow_command()
    in_project = (Path.cwd() / "Makefile").exists() and (Path.cwd() / "workspace.yaml").exists()
    return {"ui": "make ui" if in_project else f"{wardflow} ui",
            "docs": "make docs" if in_project else f"{wardflow} docs",
            "analyst_dsn": f"{wardflow} db url --role analyst",
            "report": str(report)}


DUPLICATES_NOTE = ("duplicates on purpose: each wearable's daily FHIR bundle repeats its Patient\n"
                   "          and Device, as real gateways do; the same content is stored once")
RERUN_NOTE = "everything was landed by an earlier run: nothing is stored twice"


def _print(summary: dict, console: Console) -> None:
    i, checks, landing, nxt = summary["ingest"], summary["checks"], summary["landing"], summary["next"]
    console.rule("wardflow demo")
    console.print(f"this run  {i['landed']} landed, {i['duplicates']} duplicate, {i['rejected']} rejected "
                  f"({i['files']} files)")
    if i["duplicates"]:
        console.print(f"[dim]          {RERUN_NOTE if not i['landed'] else DUPLICATES_NOTE}[/dim]")
    console.print(f"landing   {sum(landing.values())} rows: {landing['hl7_messages']} HL7 v2 messages "
                  f"+ {landing['fhir_resources']} FHIR resources")
    console.print("layers    " + ", ".join(f"{k} {v}" for k, v in summary["layers"].items()) + " rows")
    colour = "red" if checks["failed"] else "green"
    console.print(f"checks    {checks['passed']} passed, [{colour}]{checks['failed']} failed[/{colour}]")
    console.print("next, to copy as typed:")
    console.print(f"  {nxt['ui']:<40} # Dagster UI: graph, runs", highlight=False)
    console.print(f"  {nxt['docs']:<40} # dbt docs and lineage", highlight=False)
    console.print(f"  {nxt['analyst_dsn']:<40} # DSN for a BI tool", highlight=False)
    console.print(f"  report: {nxt['report']}", highlight=False)
    console.print(f"  dbt and Dagster log: {summary['log']}", highlight=False)
    console.print(f"[{'green' if summary['ok'] else 'red'}]demo {'succeeded' if summary['ok'] else 'FAILED'}"
                  f"[/] in {summary['seconds']}s")

"""The `make demo` summary: fits 80 columns, counts landing consistently, explains its duplicates, and
prints next commands that run as typed from where the user stands."""

import os
import shlex
import shutil
from pathlib import Path

from rich.console import Console

from orchestration.demo import _print, next_commands

REPO = Path(__file__).resolve().parents[2]


def summary(landed: int, duplicates: int) -> dict:
    return {"ok": True, "seconds": 21.1,
            "ingest": {"landed": landed, "duplicates": duplicates, "rejected": 0, "files": 97},
            "landing": {"hl7_messages": 1791, "fhir_resources": 6118},
            "layers": {"vault": 5516, "clinical": 18887, "analytics": 17864, "audit": 492},
            "checks": {"passed": 37, "failed": 0},
            "next": next_commands(REPO / ".wardflow" / "reports" / "classification.md"),
            "log": str(REPO / ".wardflow" / "logs" / "demo-run.log")}


def printed(data: dict) -> list[str]:
    console = Console(width=80, record=True, force_terminal=False)
    _print(data, console)
    return console.export_text().splitlines()


def test_fits_80_columns_and_counts_landing_once(monkeypatch):
    monkeypatch.chdir(REPO)
    lines = printed(summary(7909, 24))
    assert all(len(line) <= 80 for line in lines if "/.wardflow/" not in line), lines
    assert any(line.strip().startswith("dbt and Dagster log: ") for line in lines)
    assert any(line.startswith("landing   7909 rows: 1791 HL7 v2 messages + 6118 FHIR resources") for line in lines)
    assert not any("landing" in line for line in lines if line.startswith("layers"))
    assert any("duplicates on purpose" in line for line in lines)
    assert any("nothing is stored twice" in line for line in printed(summary(0, 7933)))


def command_runs_as_typed(command: str, cwd: Path) -> bool:
    program = shlex.split(command)[0]
    if "/" in program:
        return os.access(cwd / program, os.X_OK)
    return shutil.which(program) is not None and (program != "make" or (cwd / "Makefile").exists())


def test_next_commands_run_as_typed_from_the_project_and_from_elsewhere(monkeypatch, tmp_path):
    for cwd in (REPO, tmp_path):
        monkeypatch.chdir(cwd)
        commands = next_commands(Path("report.md"))
        for name in ("ui", "docs", "analyst_dsn"):
            assert command_runs_as_typed(commands[name], cwd), (cwd, commands[name])

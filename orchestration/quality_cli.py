"""`wardflow check`: run the quality suites outside Dagster; exit 1 when a blocking expectation fails.

Prints names, verdicts and counts (on stderr, or one JSON object on stdout with --json); results go to
audit.quality_results and Data Docs to WARDFLOW_HOME/data_docs. Nothing printed is a data value.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connectors.settings import load_settings

console = Console(stderr=True, soft_wrap=True)


def check(
    suite: Annotated[str | None, typer.Option(help="Only this suite: physiology, time, integrity, injected, landing.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    docs: Annotated[bool, typer.Option(help="Build Data Docs under WARDFLOW_HOME/data_docs.")] = True,
) -> None:
    """Run the quality suites (Great Expectations); non-zero exit when a blocking expectation fails."""
    from expectations.quality import docs_dir, run_quality
    from expectations.suites import all_checks

    try:
        checks = all_checks(suite)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    settings = load_settings()
    run_id = f"cli:{uuid.uuid4()}"
    outcomes = run_quality(settings, checks, run_id, build_docs=docs)
    blocking = [o for o in outcomes if not o.success and o.severity == "blocking"]
    if as_json:
        sys.stdout.write(json.dumps({"ok": not blocking, "run_id": run_id, "expectations": len(outcomes),
                                     "failed": sum(not o.success for o in outcomes), "blocking_failed": len(blocking),
                                     "data_docs": str(docs_dir(settings)) if docs else None,
                                     "results": [o.as_dict() for o in outcomes]}) + "\n")
    else:
        _print(outcomes, settings, docs)
    if blocking:
        raise typer.Exit(1)


def _print(outcomes, settings, docs: bool) -> None:
    from expectations.quality import docs_dir

    failed = [o for o in outcomes if not o.success]
    console.print(f"{len(outcomes)} expectations, {len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        table = Table("suite", "expectation", "severity", "unexpected / total", "senders", title="failed expectations")
        for o in failed:
            table.add_row(o.suite, o.expectation, o.severity, f"{o.unexpected} / {o.total}",
                          ", ".join(o.failing_groups[:3]) + (" …" if len(o.failing_groups) > 3 else ""))
        console.print(table)
    if docs:
        console.print(f"Data Docs: {docs_dir(settings) / 'index.html'}", highlight=False)

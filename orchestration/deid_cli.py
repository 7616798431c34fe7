"""`wardflow deid …`: the scrubber's evaluation on the shipped set (commands are thin; deid/ holds the logic).
Prints scores and counts only, never a sentence of the evaluation set."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

deid_app = typer.Typer(help="Free-text de-identification: evaluation of the scrubber.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


@deid_app.command("eval")
def deid_eval(
    split: Annotated[str, typer.Option(help="dev, heldout, blind or all")] = "all",
    presidio: Annotated[bool, typer.Option(help="Score Presidio's pattern recognizers too (make bench-deps)")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the freshly generated held-out set")] = 4242,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recall and precision per class on the evaluation set, side by side with Presidio; exit 1 below target."""
    from deid.evaluation import evaluate

    if split not in ("dev", "heldout", "blind", "all"):
        raise typer.BadParameter("split must be dev, heldout, blind or all")
    result = evaluate(split, presidio=presidio, fresh_seed=seed)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        _print(result)
    if result["failures"]:
        raise typer.Exit(1)


def _print(result: dict) -> None:
    for split, scores in result["splits"].items():
        table = Table(title=f"{split}: {scores['wardflow']['sentences']} sentences")
        table.add_column("class")
        for who in scores:
            table.add_column(f"{who} recall", justify="right")
            table.add_column(f"{who} precision", justify="right")
        for cls in scores["wardflow"]["classes"]:
            cells = []
            for who in scores:
                c = scores[who]["classes"][cls]
                cells += [_fmt(c["recall"]) + f" ({c['found']}/{c['gold']})", _fmt(c["precision"])]
            table.add_row(cls, *cells)
        table.add_row("all", *[x for who in scores for x in (_fmt(scores[who]["recall"]), _fmt(scores[who]["precision"]))])
        console.print(table)
    vocab = result["clinical_vocabulary"]
    console.print(f"clinical vocabulary untouched: {vocab['untouched']}/{vocab['words']} ({_fmt(vocab['rate'])})")
    console.print(f"presidio: {result['presidio']}")
    for failure in result["failures"]:
        console.print(f"[red]below target:[/red] {failure}")
    for miss in result.get("blind_below_target", []):
        console.print(f"[yellow]blind split below target (reported, not gated):[/yellow] {miss}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"

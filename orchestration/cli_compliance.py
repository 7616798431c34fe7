"""`wardflow share …`, `wardflow retention …`, `wardflow audit access|events`: the compliance commands (thin; the
logic is in orchestration/share_export.py, retention.py, access.py). Prints names, ids, counts, digests and
statement shapes, never a data value."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connectors.settings import load_settings

share_app = typer.Typer(help="Data-sharing agreements: export what one allows; recipient keys.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention: purge what is past its declared period; legal holds.",
                            no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _emit(data: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"--since must be an ISO date or time (2026-12-01 or 2026-12-01T08:00), not {text!r}", 2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- sharing ----------------------------------------------------------------------------------------

@share_app.command("export")
def share_export(
    agreement: Annotated[str, typer.Option(help="Name of the agreement (a dbt exposure).")],
    out: Annotated[Path, typer.Option(help="File to write (mode 0600).")],
    file_format: Annotated[str, typer.Option("--format", help="csv (one model; a zip of CSVs for several) or "
                                                             "parquet")] = "csv",
    encrypt_to: Annotated[Path | None, typer.Option(help="Recipient's X25519 public key (PEM): seal the file.")] = None,
    cipher: Annotated[str, typer.Option(help="aes-256-gcm or sm4-gcm (with --encrypt-to)")] = "aes-256-gcm",
    as_json: JsonFlag = False,
) -> None:
    """Export only what the agreement allows, re-keyed for its recipient; refusals are logged too."""
    from orchestration.share_export import ExportRequest
    from orchestration.share_export import share_export as run_export
    from orchestration.sharing import Refused

    key = encrypt_to.read_text() if encrypt_to else None
    try:
        result = run_export(load_settings(), ExportRequest(agreement, out, file_format, key, cipher))
    except Refused as refused:
        raise _fail(f"export refused: {refused}") from None
    _emit(result, as_json)
    if not as_json:
        sealed = f", sealed with {result['cipher']}" if result["encrypted"] else ""
        console.print(f"[green]exported[/green] {result['rows']} rows, {len(result['columns'])} columns to "
                      f"{result['file']}{sealed}; sha256 {result['sha256']} (audit event {result['event_id']})",
                      highlight=False)


@share_app.command("keygen")
def share_keygen(out: Annotated[Path, typer.Option(help="Prefix: writes PREFIX.key (0600) and PREFIX.pub")]) -> None:
    """For a recipient: a new X25519 key pair; send the .pub file to the data provider."""
    import os

    from orchestration.envelope import keygen

    private, public = keygen()
    fd = os.open(f"{out}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(private)
    Path(f"{out}.pub").write_text(public)
    console.print(f"wrote {out}.key (private, 0600) and {out}.pub (give this one to the provider)", highlight=False)


@share_app.command("decrypt")
def share_decrypt(
    sealed: Annotated[Path, typer.Argument(help="The encrypted export.")],
    key: Annotated[Path, typer.Option(help="Your private key (from `wardflow share keygen`).")],
    out: Annotated[Path, typer.Option(help="Where to write the plain file (mode 0600).")],
) -> None:
    """For a recipient: open an encrypted export (fails if it was altered or truncated)."""
    from orchestration.envelope import EnvelopeError, decrypt_file, load_private_key

    try:
        cipher = decrypt_file(sealed, out, load_private_key(key.read_text()))
    except EnvelopeError as exc:
        raise _fail(str(exc)) from None
    console.print(f"decrypted ({cipher}) to {out}", highlight=False)


# --- retention --------------------------------------------------------------------------------------

@retention_app.command("apply")
def retention_apply(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count and digest what would go; delete nothing.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per delete transaction.")] = 5000,
    as_json: JsonFlag = False,
) -> None:
    """Delete rows past their declared period (legal holds and floors honoured), with evidence."""
    from orchestration.retention import apply_retention

    report = apply_retention(load_settings(), dry_run=dry_run, batch=batch_size)
    _emit(report, as_json)
    if not as_json:
        table = Table("relation", "would delete" if dry_run else "deleted", "held", "oldest", "newest", "note")
        for r in report["relations"]:
            table.add_row(r["relation"], str(r["affected"]), str(r["held"]), str(r["oldest"] or ""),
                          str(r["newest"] or ""), r["skipped"])
        console.print(table)
        console.print(f"retention run {report['run_id']} recorded in audit.retention_log", highlight=False)


@retention_app.command("hold")
def retention_hold(
    relation: Annotated[str, typer.Option(help="schema.table, e.g. landing.hl7_messages")],
    reason: Annotated[str, typer.Option(help="Case or matter reference (no patient data).")],
    batch: Annotated[str | None, typer.Option(help="Hold only this ingest batch id.")] = None,
) -> None:
    """Place a legal hold: `retention apply` deletes nothing it covers until it is released."""
    from orchestration.retention import place_hold

    hold_id = place_hold(load_settings(), relation, reason, batch)
    console.print(f"legal hold {hold_id} placed on {relation}{' batch ' + batch if batch else ''}", highlight=False)


@retention_app.command("release")
def retention_release(hold_id: int) -> None:
    """Release a legal hold."""
    from orchestration.retention import release_hold

    if not release_hold(load_settings(), hold_id):
        raise _fail(f"no open legal hold {hold_id}")
    console.print(f"legal hold {hold_id} released")


# --- audit --------------------------------------------------------------------------------------------

def audit_access(
    role: Annotated[str | None, typer.Option(help="analyst, reader or compliance")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or time (UTC unless an offset is given)")] = None,
    log_file: Annotated[Path | None, typer.Option(help="Server log to read (default: the embedded one)")] = None,
    limit: int = 1000,
    as_json: JsonFlag = False,
) -> None:
    """Who ran what against which relation (statement shapes, literals removed; never results)."""
    from orchestration.access import LogUnreadable, access_report

    try:
        report = access_report(load_settings(), role=role, since=_since(since), log_file=log_file, limit=limit)
    except LogUnreadable as exc:
        raise _fail(str(exc), 3) from None
    _emit(report, as_json)
    if not as_json:
        table = Table("time (UTC)", "role", "command", "relations", "statement (literals removed)")
        for a in report["accesses"]:
            table.add_row(str(a["logged_at"])[:19], a["role"], a["command"], ", ".join(a["relations"]),
                          a["statement_shape"][:120])
        console.print(table)
        console.print(f"{report['statements_read']} statements in {report['log']}, {report['new']} new",
                      highlight=False)


def audit_events(
    action: Annotated[str | None, typer.Option(help="Only this action (e.g. share.export), or a prefix ending in .")]
    = None,
    since: Annotated[str | None, typer.Option(help="ISO date or time")] = None,
    limit: int = 200,
    as_json: JsonFlag = False,
) -> None:
    """List audit events: id, time, database role, operator, action, subject, details (ids and counts)."""
    from orchestration.warehouse.database import connect

    query = ("select event_id, occurred_at, actor, action, subject, details from audit.events "
             "where (%(action)s::text is null or action = %(action)s or (right(%(action)s, 1) = '.' and "
             "starts_with(action, %(action)s))) and (%(since)s::timestamptz is null or occurred_at >= %(since)s) "
             "order by event_id desc limit %(limit)s")
    with connect(load_settings(), "compliance", start=False) as conn:
        rows = conn.execute(query, {"action": action, "since": _since(since), "limit": limit}).fetchall()
    events = [{"event_id": r[0], "occurred_at": r[1], "actor": r[2], "operator": (r[5] or {}).get("operator", ""),
               "action": r[3], "subject": r[4], "details": r[5]} for r in reversed(rows)]
    _emit({"events": events}, as_json)
    if not as_json:
        table = Table("id", "time (UTC)", "role", "operator", "action", "subject", "details")
        for e in events:
            details = {k: v for k, v in e["details"].items() if k != "operator"}
            table.add_row(str(e["event_id"]), str(e["occurred_at"])[:19], e["actor"], e["operator"], e["action"],
                          e["subject"], json.dumps(details, default=str)[:100])
        console.print(table)


def register(app: typer.Typer, audit_app: typer.Typer) -> None:
    """Attach these commands to the main CLI (orchestration/cli.py)."""
    app.add_typer(share_app, name="share")
    app.add_typer(retention_app, name="retention")
    audit_app.command("access")(audit_access)
    audit_app.command("events")(audit_events)

"""`wardflow`: the one command-line entry point (DESIGN.md, Interfaces).

Output for people goes through rich; `--json` prints one JSON object for machines. Exit status is
non-zero on failure. Nothing printed here ever contains a personal value or a key.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connectors.settings import load_settings
from orchestration.cli_devices import devices_app

app = typer.Typer(help="wardflow: HL7 v2 and FHIR to audited, de-identified PostgreSQL marts.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The embedded PostgreSQL (used when WARDFLOW_DATABASE_URL is unset).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="Key versions: status, rotation and re-encryption.", no_args_is_help=True)
rejected_app = typer.Typer(help="Input that could not be landed: list, export, replay.", no_args_is_help=True)
app.add_typer(rejected_app, name="rejected")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(devices_app, name="devices")


def _add_deid() -> None:
    from orchestration.deid_cli import deid_app

    app.add_typer(deid_app, name="deid")


_add_deid()


def _add_check() -> None:
    from orchestration.quality_cli import check

    app.command("check")(check)


_add_check()


def _add_compliance() -> None:
    from orchestration.cli_compliance import register

    register(app, audit_app)


_add_compliance()
console = Console(file=sys.stderr, soft_wrap=True)  # the real stderr: a run redirects sys.stderr into its log
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


NO_STATE_COMMANDS = {"generate"}  # commands that touch neither the state folder nor a database
_debug = {"on": False}


@app.callback()
def _every_command(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="On failure, show the full traceback.")] = False,
    operator: Annotated[str | None, typer.Option(
        "--operator", help="The person acting, named in audit events (default: the OS user).")] = None,
) -> None:
    """Say which state folder and server the command uses (on stderr, so --json output stays clean)."""
    import os

    from orchestration.state import state_line

    _debug["on"] = debug
    if operator:
        os.environ["WARDFLOW_OPERATOR"] = operator  # read by connectors/auditlog.operator_name
    if ctx.invoked_subcommand not in NO_STATE_COMMANDS and not ctx.resilient_parsing:
        console.print(f"[dim]{state_line(load_settings())}[/dim]", highlight=False)


def emit(data: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


# --- database ---------------------------------------------------------------------------------------

@db_app.command("start")
def db_start(as_json: JsonFlag = False) -> None:
    """Start the embedded PostgreSQL (idempotent)."""
    from orchestration.warehouse.embedded import EmbeddedPostgres

    status = EmbeddedPostgres(load_settings().home).start()
    _print_db_status(status, as_json)


@db_app.command("stop")
def db_stop(as_json: JsonFlag = False) -> None:
    """Stop the embedded PostgreSQL (idempotent)."""
    from orchestration.warehouse.embedded import EmbeddedPostgres

    _print_db_status(EmbeddedPostgres(load_settings().home).stop(), as_json)


@db_app.command("status")
def db_status(as_json: JsonFlag = False) -> None:
    """Is the embedded PostgreSQL running, where, which version."""
    from orchestration.warehouse.embedded import EmbeddedPostgres

    settings = load_settings()
    if settings.database_url:
        emit({"embedded": False}, as_json)
        if not as_json:
            console.print("WARDFLOW_DATABASE_URL is set: the embedded PostgreSQL is not used.")
        return
    status = EmbeddedPostgres(settings.home).status()
    _print_db_status(status, as_json)
    if not status.running:
        raise typer.Exit(3)


def _print_db_status(status, as_json: bool) -> None:
    data = {"running": status.running, "pid": status.pid, "port": status.port, "data_dir": str(status.data_dir),
            "version": status.version, "message": status.message}
    emit(data, as_json)
    if not as_json:
        state = "[green]running[/green]" if status.running else "[yellow]stopped[/yellow]"
        console.print(f"embedded PostgreSQL {state} port={status.port} version={status.version} ({status.message})")


@db_app.command("url")
def db_url(role: Annotated[str, typer.Option(help="analyst, reader, compliance, ingest or admin")] = "analyst") -> None:
    """Print a connection URL for a role (for psql and BI tools). It holds that role's password."""
    from orchestration.warehouse.database import role_url

    if role == "pipeline":  # its password is as good as the keys: it owns what keyed builds write (docs/keys.md)
        raise fail("the pipeline login is not handed out: it owns the tables keyed builds write, so its password "
                   "is kept beside the keys; connectors use --role ingest, people use analyst, reader or compliance")
    if role not in ("ingest", "analyst", "compliance", "reader", "admin"):
        raise fail(f"--role must be analyst, reader, compliance, ingest or admin, not {role!r}")
    sys.stdout.write(role_url(load_settings(), role, start=False) + "\n")


@app.command()
def init(as_json: JsonFlag = False,
         lock_maintenance_databases: Annotated[bool, typer.Option(
             help="Also revoke CONNECT on postgres/template1 from PUBLIC (done anyway on the embedded server; "
                  "on a shared server it changes them for every user)")] = False) -> None:
    """Create extensions, schemas, roles, grants, crypto functions and the key file (idempotent)."""
    from orchestration.warehouse.database import init_database

    report = init_database(load_settings(), lock_maintenance=lock_maintenance_databases or None)
    emit(report.as_dict(), as_json)
    if not as_json:
        created = " (new key file created, mode 0600)" if report.key_created else ""
        console.print(f"[green]initialised[/green] database {report.database}; key versions {report.key_versions}"
                      f"{created}; roles {', '.join(report.roles)}")
        for warning in report.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        if report.log_settings_not_set:
            console.print("[yellow]not a superuser: the server may still log values for[/yellow] "
                          f"{', '.join(report.log_settings_not_set)} (see docs/database.md)")


# --- data -------------------------------------------------------------------------------------------

@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("out/synthetic"),
    patients: Annotated[int, typer.Option(min=1)] = 50,
    days: Annotated[int, typer.Option(min=1)] = 2,
    devices: Annotated[int, typer.Option(min=1)] = 10,
    seed: int = 42,
    faults: Annotated[str, typer.Option(help="Comma-separated faulty feeds: out_of_range, unit_mixup, "
                                             "silent_monitor, injected_stream, duplicate_stream.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Write a synthetic hospital: HL7 v2 monitor ORU and HIS ADT files, FHIR bundles and NDJSON."""
    from connectors.synthetic import generate as run_generate
    from connectors.synthetic.faults import apply_faults, parse_faults

    try:
        wanted = parse_faults(faults)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    summary = run_generate(out, patients=patients, days=days, devices=devices, seed=seed)
    data = summary.as_dict()
    if wanted:
        try:
            data["faults"] = apply_faults(out, wanted)
        except ValueError as exc:
            raise fail(str(exc), 2) from None
    emit(data, as_json)
    if not as_json:
        console.print(f"[green]generated[/green] into {out}: {data}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders; HL7 v2 and FHIR detected by content.")],
    as_json: JsonFlag = False,
    validate: Annotated[str, typer.Option(help="lenient or strict")] = "lenient",
    max_message_bytes: Annotated[int, typer.Option(
        help="Largest HL7 message, FHIR document or NDJSON line; larger ones are rejected.")] = 10 * 1024 * 1024,
) -> None:
    """Land files: encrypted into landing.*, duplicates counted, bad input in landing.rejected."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from connectors.crypto import load_keyring
    from connectors.ingest import ingest_paths, list_inputs
    from orchestration.warehouse.database import connect

    settings = load_settings()
    try:
        files, _ = list_inputs(paths)
    except FileNotFoundError as exc:
        raise fail(str(exc), 2) from None
    total = sum(p.stat().st_size for p in files)
    ring = load_keyring(settings)
    with connect(settings, "ingest") as conn, Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=console, disable=as_json or total < 5_000_000, transient=True,
    ) as progress:
        task = progress.add_task("ingesting", total=total)
        report = ingest_paths(paths, conn, ring, validate=validate, max_message_bytes=max_message_bytes,
                              on_progress=lambda n: progress.advance(task, n))
    emit(report.as_dict(), as_json)
    if not as_json:
        for skipped in report.skipped:
            console.print(f"[yellow]skipped[/yellow] {skipped.path}: {skipped.reason}")
        c = report.counts
        console.print(f"{report.files} files: [green]{c.landed} landed[/green], {c.duplicates} duplicate, "
                      f"[yellow]{c.rejected} rejected[/yellow] in {report.seconds:.1f}s")


@app.command()
def listen(
    host: Annotated[str, typer.Option(help="Address to bind; without TLS only loopback unless --allow-plaintext.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (2575 is the registered MLLP port).")] = 2575,
    tls_cert: Annotated[Path | None, typer.Option(help="Server certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="Server private key (PEM).")] = None,
    client_ca: Annotated[Path | None, typer.Option(help="CA for client certificates: turns on mutual TLS.")] = None,
    allow_plaintext: Annotated[bool, typer.Option(help="Allow plain TCP on a non-loopback address.")] = False,
    max_message_size: Annotated[int, typer.Option(help="Largest frame accepted, in bytes.")] = 10 * 1024 * 1024,
    max_connections_per_client: Annotated[int, typer.Option(
        help="Connections per address (per certificate under mutual TLS); 0 = unlimited.")] = 64,
    max_messages_per_second_per_client: Annotated[float, typer.Option(
        help="Messages/s per sender (certificate, else address + MSH-3/4); 0 = unlimited (default).")] = 0.0,
    group_commit_ms: Annotated[float, typer.Option(help="Batching window across connections; 0 commits each message alone.")] = 5.0,
    frame_timeout: Annotated[float, typer.Option(help="Seconds a started frame may take to arrive; 0 = never.")] = 30.0,
    idle_timeout: Annotated[float, typer.Option(help="Seconds without a message before a connection is closed; "
                                                      "0 = never.")] = 900.0,
    max_buffered_mb: Annotated[int, typer.Option(help="Partial frames of all connections together, MiB; 0 = no cap.")] = 256,
) -> None:
    """Run the MLLP listener: every message is committed to landing before its ACK is sent."""
    from connectors.hl7.listener import run_listener

    raise typer.Exit(run_listener(
        load_settings(), host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, client_ca=client_ca,
        allow_plaintext=allow_plaintext, max_message_size=max_message_size,
        max_connections_per_client=max_connections_per_client,
        max_messages_per_second_per_client=max_messages_per_second_per_client, group_commit_ms=group_commit_ms,
        frame_timeout_s=frame_timeout, idle_timeout_s=idle_timeout, max_buffered_bytes=max_buffered_mb << 20))


@rejected_app.command("discard")
def rejected_discard(
    ids: Annotated[list[int], typer.Argument(help="Rejected ids to close without landing them.")],
    as_json: JsonFlag = False,
) -> None:
    """Close open rejected (or quarantined) input without landing it; it stays encrypted until retention."""
    from orchestration.quarantine import discard
    from orchestration.warehouse.database import connect

    with connect(load_settings(), "ingest") as conn:
        done = discard(conn, ids)
    emit({"discarded": done}, as_json)
    if not as_json:
        console.print(f"{done} discarded")


@rejected_app.command("list")
def rejected_list(
    status: Annotated[str, typer.Option(help="open, replayed, discarded or all")] = "open",
    rule: Annotated[str | None, typer.Option(help="Only this rule id.")] = None,
    limit: int = 100,
    as_json: JsonFlag = False,
) -> None:
    """Rejected input: id, when, format, rule, field path, reason, size (never content)."""
    from connectors.rejected import list_rejected
    from orchestration.warehouse.database import connect

    with connect(load_settings(), "ingest") as conn:
        rows = list_rejected(conn, status=None if status == "all" else status, rule=rule, limit=limit)
    emit({"rejected": rows}, as_json)
    if not as_json:
        table = Table("id", "received", "format", "rule", "field", "reason", "bytes", "status")
        for r in rows:
            table.add_row(str(r["rejected_id"]), r["received_at"].strftime("%Y-%m-%d %H:%M:%S"), r["format"], r["rule"],
                          r["field_path"], r["reason"], str(r["payload_bytes"]), r["status"])
        console.print(table)


@rejected_app.command("export")
def rejected_export(rejected_id: int, out: Annotated[Path, typer.Option(help="File to write (mode 0600).")]) -> None:
    """Write one rejected message, decrypted, to a private file so that it can be corrected."""
    import os

    from connectors.crypto import load_keyring
    from connectors.rejected import rejected_payload
    from orchestration.warehouse.database import connect

    settings = load_settings()
    with connect(settings, "ingest") as conn:
        data = rejected_payload(conn, load_keyring(settings), rejected_id)
        conn.execute("select audit.record('rejected.export', %s, '{}'::jsonb)", (f"landing.rejected/{rejected_id}",))
        conn.commit()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    console.print(f"wrote {len(data)} bytes to {out} (mode 0600)")


@rejected_app.command("replay")
def rejected_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Rejected ids; all open ones when omitted.")] = None,
    fixed: Annotated[Path | None, typer.Option(help="Corrected bytes for the one id given.")] = None,
    validate: Annotated[str, typer.Option(help="lenient or strict, as at ingest")] = "lenient",
    as_json: JsonFlag = False,
) -> None:
    """Parse rejected input again (after a parser or content fix) and land what now passes."""
    from connectors.crypto import load_keyring
    from connectors.rejected import replay
    from orchestration.warehouse.database import connect

    settings = load_settings()
    with connect(settings, "ingest") as conn:
        try:
            result = replay(conn, load_keyring(settings), ids=ids or None,
                            fixed=fixed.read_bytes() if fixed else None, validate=validate)
        except ValueError as exc:
            raise fail(str(exc), 2) from None
    emit(result.as_dict(), as_json)
    if not as_json:
        console.print(f"replayed {result.replayed}, still rejected {result.still_rejected} "
                      f"({result.landed} landed, {result.duplicates} duplicate)")


@app.command()
def run(as_json: JsonFlag = False) -> None:
    """Materialize everything in-process: inbox → landing → dbt layers → checks. Non-zero if a blocking check fails."""
    from orchestration.runner import run_everything

    with _progress_bar("building", disable=as_json) as progress:
        outcome = run_everything(load_settings(), progress=progress, debug=_debug["on"])
    emit(outcome.as_dict(), as_json)
    if not as_json:
        outcome.print(console)
    if not outcome.ok:
        raise typer.Exit(1)


@contextlib.contextmanager
def _progress_bar(label: str, *, disable: bool):
    """A bar on the real stderr (the run redirects sys.stderr into its log) fed with (done, total, what)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), console=Console(file=sys.stderr),
                   disable=disable or not sys.stderr.isatty(), transient=True,  # a bar only on a terminal
                   redirect_stdout=False, redirect_stderr=False)  # dbt's lines must reach the run's log, not the screen
    task = bar.add_task("", total=None)

    def update(done: int, total: int, what: str) -> None:
        if done == 1:  # only once there is work to show: a failed preflight leaves no empty bar behind
            bar.reset(task)
            bar.start()
        bar.update(task, completed=done, total=max(total, done), description=what[-30:])

    try:
        yield update
    finally:
        bar.stop()


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Row counts per landing table and per model."""
    from orchestration.status import collect_status

    data = collect_status(load_settings())
    emit(data, as_json)
    if not as_json:
        table = Table("relation", "rows", title="wardflow status")
        for relation, rows in data["relations"].items():
            table.add_row(relation, str(rows))
        console.print(table)


@app.command()
def report(out: Annotated[Path | None, typer.Option(help="Folder for the report files.")] = None,
           as_json: JsonFlag = False) -> None:
    """Write the compliance report (one HTML page + JSON) and the classification report (Markdown + CSV)."""
    from orchestration.reports import write_classification_report, write_compliance_report

    settings = load_settings()
    paths = write_classification_report(out or settings.home / "reports")
    paths |= write_compliance_report(settings, out or settings.home / "reports")
    emit({k: str(v) for k, v in paths.items()}, as_json)
    if not as_json:
        console.print(f"[green]report[/green] {paths['html']} (and .json); classification {paths['markdown']} "
                      f"and {paths['csv']}", highlight=False)


@app.command()
def lineage(
    column: Annotated[str | None, typer.Argument(help="relation.column, e.g. analytics.vital_signs.value")] = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when an untreated path reaches a release.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print a column's lineage back to its source fields (HL7 OBX-5, FHIR Patient.name …), from audit.column_lineage."""
    import psycopg

    from orchestration.lineage_store import load, release_problems, source_fields, tree_lines
    from orchestration.warehouse.database import connect

    try:
        with connect(load_settings(), "compliance") as conn:
            rows = load(conn)
    except psycopg.errors.UndefinedTable:
        raise fail("this database has no audit.column_lineage: run `wardflow init` (it adds it), then `wardflow run`") from None
    if not rows:
        raise fail("no column lineage stored yet: run `wardflow run` first")
    problems = release_problems(rows)
    keys = {f"{r['relation']}.{r['column_name']}" for r in rows}
    if column is not None and column not in keys:
        raise fail(f"no column {column} in audit.column_lineage (write it as layer.model.column)")
    path = tree_lines(rows, column) if column else []
    data = {"column": column, "source_fields": source_fields(rows, column) if column else [], "path": path,
            "untreated_paths": problems}
    emit(data, as_json)
    if not as_json:
        for line in path:
            console.print(line, highlight=False, markup=False)
        for problem in problems:
            console.print(f"[red]untreated path into a release:[/red] {problem}", highlight=False)
        if column is None and not problems:
            console.print(f"[green]{len(rows)} columns; no untreated path into a release relation[/green]")
    if check and problems:
        raise typer.Exit(1)


@app.command()
def scan(
    sample_rows: Annotated[int, typer.Option(help="Rows sampled per relation.")] = 2000,
    show_all: Annotated[bool, typer.Option("--all", help="List every hit, not only those that need a look.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Look for undeclared personal data by value in every layer; non-zero when clinical or analytics hit."""
    from orchestration.scan import scan as run_scan

    with _progress_bar("scanning", disable=as_json) as progress:
        report = run_scan(load_settings(), sample_rows=sample_rows, progress=progress)
    emit(report.as_dict(), as_json)
    if not as_json:
        report.print(console, everything=show_all)
    if report.failed:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Recompute the keyed audit chain and compare it with the anchored head; report every broken range."""
    from connectors.crypto import KeyError_
    from orchestration.audit import verify_chain

    try:
        result = verify_chain(load_settings())
    except KeyError_ as exc:
        raise fail(f"audit verify needs the master key (the chain is keyed with a key derived from it): {exc}") from None
    emit(result, as_json)
    if not as_json:
        if result["ok"]:
            console.print(f"[green]audit chain intact[/green]: {result['events']} events, "
                          f"anchored head {result['anchored_head']}")
        for r in result["broken"]:
            console.print(f"[red]audit chain broken[/red]: events {r['first']}-{r['last']} {r['problem']}")
        if result["unreadable_anchor_lines"]:
            console.print(f"[red]anchor file lines unreadable[/red]: {result['unreadable_anchor_lines']}")
    if not result["ok"]:
        raise typer.Exit(1)


@keys_app.command("status")
def keys_status(as_json: JsonFlag = False) -> None:
    """Key versions and, per table holding sealed data, rows per key version (no key material)."""
    from orchestration.keys import key_status

    data = key_status(load_settings())
    emit(data, as_json)
    if not as_json:
        console.print(f"current version {data['current']} (pseudonym version {data['pseudonym_version']}), "
                      f"versions {data['versions']}, rows not yet on current: {data.get('pending', 0)}")
        table = Table("table", "rows per key version")
        for name, counts in data["rows"].items():
            table.add_row(name, ", ".join(f"v{v}: {n}" for v, n in sorted(counts.items())) or "empty")
        console.print(table)


@keys_app.command("rotate")
def keys_rotate(batch_size: int = 5000, as_json: JsonFlag = False) -> None:
    """Add a key version, then re-encrypt landing and vault in batches while the pipeline keeps running."""
    from orchestration.keys import rotate_keys

    result = rotate_keys(load_settings(), batch_size=batch_size)
    emit(result, as_json)
    complete = result.get("reencrypted", {}).get("complete", True)
    if not as_json:
        console.print(f"key version {result['old_version']} → {result['new_version']}; re-encrypted "
                      f"{result.get('reencrypted', {}).get('rows', 0)} rows"
                      + ("" if complete else " [yellow](rows remain: run `wardflow keys reencrypt`)[/yellow]"))
        for warning in result.get("warnings", []):
            console.print(f"[yellow]warning:[/yellow] {warning}")
    if not complete:
        raise typer.Exit(1)


@keys_app.command("reencrypt")
def keys_reencrypt(batch_size: int = 5000, as_json: JsonFlag = False) -> None:
    """Re-encrypt rows still sealed with an older key version (safe to re-run)."""
    from orchestration.keys import reencrypt

    result = reencrypt(load_settings(), batch_size=batch_size)
    emit(result, as_json)
    if not as_json:
        console.print(f"re-encrypted {result['rows']} rows to version {result['key_version']}")
    if not result["complete"]:
        raise typer.Exit(1)


@keys_app.command("retire")
def keys_retire(
    version: Annotated[int, typer.Argument(help="The key version to remove from the key file.")],
    as_json: JsonFlag = False,
) -> None:
    """Remove an old key version from the key file once no row is sealed with it (refused otherwise)."""
    from orchestration.keys import retire_version

    result = retire_version(load_settings(), version)
    emit(result, as_json)
    if not as_json:
        console.print(f"key version {result['retired']} retired; versions now {result['versions']} "
                      f"(current {result['current']})")


@app.command()
def demo(
    patients: int = 50, days: int = 2, devices: int = 10, seed: int = 42,
    as_json: JsonFlag = False,
) -> None:
    """Init, generate a small hospital, ingest it, build every layer, check, report, and summarize."""
    from orchestration.demo import run_demo

    summary = run_demo(load_settings(), patients=patients, days=days, devices=devices, seed=seed, console=console)
    emit(summary, as_json)
    if not summary["ok"]:
        raise typer.Exit(1)


def _debug_first(args: list[str]) -> list[str]:
    """Accept --debug anywhere (`wardflow run --debug`) except in what `wardflow dbt` passes on to dbt."""
    if args[:1] == ["dbt"] or "--debug" not in args:
        return args
    return ["--debug", *[a for a in args if a != "--debug"]]


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def dbt(ctx: typer.Context) -> None:
    """dbt as typed (`wardflow dbt build -s analytics`, `wardflow dbt show -s …`) with the project's connection."""
    from orchestration.dbt_cli import run_dbt

    raise typer.Exit(run_dbt(load_settings(), list(ctx.args)))


@app.command()
def docs(
    port: Annotated[int, typer.Option(help="Port of the docs site.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
) -> None:
    """Build the dbt docs (models, columns, lineage; catalog read from the database) and serve them."""
    from orchestration.dbt_cli import serve_docs

    console.print(f"dbt docs: http://{host}:{port}  (after `dbt docs generate`; Ctrl-C stops it)", highlight=False)
    raise typer.Exit(serve_docs(load_settings(), host, port))


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
) -> None:
    """The Dagster UI (asset graph, checks, run history of `wardflow run`): `dagster dev` set up for this project."""
    import os

    from orchestration.ui import dagster_dev_argv, dagster_env, prepare, write_dotenv

    settings = load_settings()
    env = {**os.environ, **dagster_env(settings)}
    write_dotenv(settings)
    warning = prepare(settings)
    if warning:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    console.print(f"Dagster UI: http://{host}:{port}  (run history {env['DAGSTER_HOME']}; Ctrl-C stops it)",
                  highlight=False)
    os.chdir(settings.home)  # not the project folder: dagster dev lets a .env there override DAGSTER_HOME
    argv = dagster_dev_argv(host, port)
    os.execve(argv[0], argv, env)  # noqa: S606 - becomes dagster dev, so Ctrl-C and signals reach it directly


def main() -> None:
    """Run the command; a failure ends in one line with cause and fix (traceback only with --debug)."""
    from orchestration.errors import exit_code, one_line

    try:
        app(args=_debug_first(sys.argv[1:]), prog_name="wardflow")
    except Exception as exc:  # a clear message, no traceback full of values
        if _debug["on"]:
            console.print_exception()
        console.print(f"[red]error:[/red] {one_line(exc)}", highlight=False)
        sys.exit(exit_code(exc))


if __name__ == "__main__":
    main()

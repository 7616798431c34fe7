"""`wardflow devices`: the device registry of the MLLP listener under mutual TLS (connectors/hl7/registry.py).

Operators register a device's client certificate (PEM file or SHA-256 fingerprint) with a name and, optionally,
the sender it may use (MSH-3, or MSH-3|MSH-4, as hierarchic designators), list what is registered, and disable or
enable a certificate. Every change writes an audit event. Devices are systems, not people: nothing printed here is
personal data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connectors.settings import load_settings

devices_app = typer.Typer(help="Devices allowed to send over mutual TLS: register, list, disable, enable.",
                          no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


def _certificate(cert: Path | None, fingerprint: str | None) -> str:
    if (cert is None) == (fingerprint is None):
        console.print("[red]error:[/red] give exactly one of --cert FILE or --fingerprint SHA256")
        raise typer.Exit(2)
    if cert is not None:
        try:
            return cert.read_text()
        except OSError as exc:
            console.print(f"[red]error:[/red] cannot read {cert} ({exc.strerror or type(exc).__name__})")
            raise typer.Exit(2) from None
    return fingerprint or ""


@devices_app.command("register")
def register(
    name: Annotated[str, typer.Option(help="Operator's name for the device, e.g. 'ICU-3 bed 7 monitor'.")],
    cert: Annotated[Path | None, typer.Option(help="The device's client certificate (PEM).")] = None,
    fingerprint: Annotated[str | None, typer.Option(help="Or its SHA-256 fingerprint (hex, colons allowed).")] = None,
    sender: Annotated[str, typer.Option(help="Allowed MSH-3 or MSH-3|MSH-4, e.g. MON1 or "
                                             "'^0012345678ABCDE1^EUI-64'; empty: any.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Register (or update) a device certificate; it may connect at once."""
    from connectors.hl7.registry import register_device

    try:
        device = register_device(load_settings(), _certificate(cert, fingerprint), name, sender)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    _print([device], as_json)


@devices_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Every registered certificate: fingerprint, name, allowed sender, active."""
    from connectors.hl7.registry import list_devices
    from orchestration.warehouse.database import connect

    with connect(load_settings(), "ingest") as conn:
        _print(list_devices(conn), as_json)


def _set_active(fingerprint: str, active: bool) -> None:
    from connectors.hl7.registry import set_device_active

    try:
        found = set_device_active(load_settings(), fingerprint, active)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if not found:
        console.print("[red]error:[/red] no device with that fingerprint is registered (see `wardflow devices list`)")
        raise typer.Exit(1)
    console.print(f"device {'enabled' if active else 'disabled'}; the listener applies it to new connections")


@devices_app.command("disable")
def disable(fingerprint: Annotated[str, typer.Argument(help="SHA-256 fingerprint of the certificate.")]) -> None:
    """Refuse a certificate from now on (the row is kept, audited)."""
    _set_active(fingerprint, False)


@devices_app.command("enable")
def enable(fingerprint: Annotated[str, typer.Argument(help="SHA-256 fingerprint of the certificate.")]) -> None:
    """Accept a disabled certificate again."""
    _set_active(fingerprint, True)


def _print(devices: list, as_json: bool) -> None:
    rows = [{"fingerprint": d.fingerprint, "name": d.device_name, "sender": d.sender, "active": d.active,
             "subject": d.subject} for d in devices]
    if as_json:
        sys.stdout.write(json.dumps({"devices": rows}) + "\n")
        return
    table = Table("fingerprint", "name", "sender", "active", title=f"{len(rows)} device(s)")
    for r in rows:
        table.add_row(r["fingerprint"][:16] + "…", r["name"], r["sender"] or "(any)", "yes" if r["active"] else "no")
    Console().print(table)

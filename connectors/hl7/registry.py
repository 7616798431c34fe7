"""Device registry: which client certificates may send over mutual TLS, and as which sender.

One row per certificate (``landing.device_registry``, created by ``wardflow init``, keyed by the SHA-256
fingerprint of the DER certificate). An inactive row refuses the certificate like an unknown one.

``sender``, when not empty, is the application (MSH-3), or ``application|facility`` (MSH-3|MSH-4), that the
certificate may send as, each a hierarchic designator (HD: namespace id ^ universal id ^ universal id type).
A PCD-01 monitor sends ``MON1^0012345678ABCDE1^EUI-64``: it matches a registration of ``MON1`` (the namespace
id), of ``^0012345678ABCDE1^EUI-64`` (the universal id and its type; ids compared without regard to case), or
of all three. What the registration names must agree with what the message carries, and at least one
identifying part must match. A mismatch is answered AR/CR with ERR 207 and ERR-8 ``rule
mllp.sender_not_registered``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg

from connectors.hl7.tls import certificate_identity, normalise_fingerprint
from connectors.settings import Settings

_UPSERT = """
insert into landing.device_registry (cert_fingerprint_sha256, cert_subject, device_name, sender, active)
values (%s, %s, %s, %s, %s)
on conflict (cert_fingerprint_sha256) do update set
  cert_subject = coalesce(nullif(excluded.cert_subject, ''), landing.device_registry.cert_subject),
  device_name = excluded.device_name, sender = excluded.sender, active = excluded.active
returning cert_fingerprint_sha256, cert_subject, device_name, sender, active
"""


@dataclass(frozen=True, slots=True)
class Device:
    """One registered certificate: a device or system, never a person."""

    fingerprint: str
    subject: str
    device_name: str
    sender: str
    active: bool

    def allows_sender(self, sending_application: str, sending_facility: str) -> bool:
        if not self.sender:
            return True
        application, _, facility = self.sender.partition("|")
        return hd_matches(application, sending_application) and (
            not facility or hd_matches(facility, sending_facility))


def _hd(value: str) -> tuple[str, str, str]:
    parts = [p.strip() for p in value.split("^")] + ["", "", ""]
    return parts[0], parts[1].upper(), parts[2].upper()


def hd_matches(registered: str, sent: str) -> bool:
    """Does the HD a message carries (MSH-3 or MSH-4, components joined by '^') match a registered one?"""
    reg_ns, reg_uid, reg_type = _hd(registered)
    ns, uid, uid_type = _hd(sent)
    if (reg_ns and ns and reg_ns != ns) or (reg_uid and uid and reg_uid != uid) \
            or (reg_type and uid_type and reg_type != uid_type):
        return False
    return bool((reg_ns and reg_ns == ns) or (reg_uid and reg_uid == uid))


def check_registry(conn: psycopg.Connection) -> None:
    """Raise when ``landing.device_registry`` is missing (the database was not initialised)."""
    with conn.transaction():
        found = conn.execute("select to_regclass('landing.device_registry') is not null").fetchone()
    if not found or not found[0]:
        raise psycopg.errors.UndefinedTable("landing.device_registry is missing: run `wardflow init`")


def list_devices(conn: psycopg.Connection) -> list[Device]:
    with conn.transaction():
        rows = conn.execute("select cert_fingerprint_sha256, cert_subject, device_name, sender, active "
                            "from landing.device_registry order by device_name, cert_fingerprint_sha256").fetchall()
    return [Device(*row) for row in rows]


def lookup(conn: psycopg.Connection, fingerprint: str) -> Device | None:
    with conn.transaction():
        row = conn.execute(
            "select cert_fingerprint_sha256, cert_subject, device_name, sender, active "
            "from landing.device_registry where cert_fingerprint_sha256 = %s", (fingerprint,)).fetchone()
    return Device(*row) if row else None


def register_device(settings: Settings, cert_pem_or_fingerprint: str | bytes, device_name: str, sender: str = "",
                    *, active: bool = True) -> Device:
    """Register (or update) the certificate of a device: a PEM certificate, or its SHA-256 fingerprint.

    Writes a ``listener.device_registered`` audit event (fingerprint, device name, active; no personal data).
    """
    from orchestration.warehouse.database import connect

    fingerprint, subject = certificate_identity(cert_pem_or_fingerprint)
    if not device_name.strip():
        raise ValueError("device_name is required")
    with connect(settings, "ingest") as conn:
        with conn.transaction():
            row = conn.execute(_UPSERT, (fingerprint, subject, device_name, sender, active)).fetchone()
            _audit(conn, "listener.device_registered", fingerprint, device_name, active)
    assert row is not None
    return Device(*row)


def set_device_active(settings: Settings, fingerprint: str, active: bool) -> bool:
    """Activate or deactivate a registered certificate; False when it is not registered."""
    from orchestration.warehouse.database import connect

    fp = normalise_fingerprint(fingerprint)
    with connect(settings, "ingest") as conn:
        with conn.transaction():
            row = conn.execute("update landing.device_registry set active = %s where cert_fingerprint_sha256 = %s "
                               "returning device_name", (active, fp)).fetchone()
            if row:
                _audit(conn, "listener.device_activated" if active else "listener.device_deactivated", fp,
                       row[0], active)
    return row is not None


def _audit(conn: psycopg.Connection, action: str, fingerprint: str, device_name: str, active: bool) -> None:
    details = {"fingerprint": fingerprint, "device_name": device_name, "active": active}
    conn.execute("select audit.record(%s, %s, %s::jsonb)", (action, "device_registry", json.dumps(details)))

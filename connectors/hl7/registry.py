"""Device registry: which client certificates may send over mutual TLS, and as which sender.

One row per certificate (``landing.device_registry``, keyed by the SHA-256 fingerprint of the DER
certificate). The listener creates the table at startup when it is missing (the pipeline role has CREATE
on schema landing). ``sender``, when not empty, is the only MSH-3 (or ``MSH-3|MSH-4``) that certificate
may send as; an inactive row refuses the certificate like an unknown one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg

from connectors.hl7.tls import certificate_identity, normalise_fingerprint
from connectors.settings import Settings

REGISTRY_DDL = """
select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('wardflow.device_registry'));
create table if not exists landing.device_registry (
  cert_fingerprint_sha256 text primary key,  -- lowercase hex of SHA-256(DER certificate)
  cert_subject text not null default '',      -- RFC 4514 subject of the certificate (device identity)
  device_name text not null,
  sender text not null default '',            -- allowed MSH-3 or MSH-3|MSH-4; '' = any
  active boolean not null default true,
  registered_at timestamptz not null default now()
);
"""

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
        return self.sender in (sending_application, f"{sending_application}|{sending_facility}")


def ensure_registry(conn: psycopg.Connection) -> None:
    """Create ``landing.device_registry`` if missing (idempotent, safe against concurrent starts)."""
    with conn.transaction():
        conn.execute(REGISTRY_DDL)


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
    with connect(settings, "pipeline") as conn:
        ensure_registry(conn)
        with conn.transaction():
            row = conn.execute(_UPSERT, (fingerprint, subject, device_name, sender, active)).fetchone()
            _audit(conn, "listener.device_registered", fingerprint, device_name, active)
    assert row is not None
    return Device(*row)


def set_device_active(settings: Settings, fingerprint: str, active: bool) -> bool:
    """Activate or deactivate a registered certificate; False when it is not registered."""
    from orchestration.warehouse.database import connect

    fp = normalise_fingerprint(fingerprint)
    with connect(settings, "pipeline") as conn:
        ensure_registry(conn)
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

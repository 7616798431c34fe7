"""`wardflow share export`: write what an agreement allows to a file, optionally sealed for the recipient, and
record it (audit.sharing_log and one hash-chained audit event), refusals included.

One model → one CSV (or Parquet) file; several → a ZIP holding one file per model. The log holds the agreement, recipient, purpose, columns,
row count and the SHA-256 of the delivered file, never a value; nothing here logs a value either.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from connectors import auditlog
from connectors.crypto import KeyRing
from orchestration.catalog import Agreement, Catalog, agreements, policy
from orchestration.sharing import (
    Planned,
    Refused,
    agreement_key,
    in_force_problem,
    plan,
    suppress_sparse,
    transform_value,
)

FORMATS = ("csv", "parquet")


@dataclass
class ExportRequest:
    agreement: str
    out: Path
    file_format: str = "csv"
    recipient_key: str | None = None  # PEM or raw X25519 public key text
    cipher: str = "aes-256-gcm"
    today: date = field(default_factory=lambda: datetime.now(UTC).date())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


LOG = ("insert into audit.sharing_log (agreement, recipient, purpose, status, reason, models, columns, row_count, "
       "file_sha256, file_format, cipher, profile, operator, event_id) "
       "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")


def log_share(conn: psycopg.Connection, request: ExportRequest, agreement: Agreement | None, status: str,
              *, reason: str = "", columns: list[str] | None = None, rows: int = 0, sha256: str = "") -> int:
    """One sharing_log row and one audit event (share.export or share.refused) in one transaction."""
    details = {"agreement": request.agreement, "status": status, "reason": reason, "columns": columns or [],
               "rows": rows, "file_sha256": sha256, "format": request.file_format,
               "cipher": request.cipher if request.recipient_key else ""}
    with conn.transaction():
        event_id = auditlog.record(conn, f"share.{'export' if status == 'delivered' else 'refused'}",
                                   request.agreement, details)
        conn.execute(LOG, (request.agreement, agreement.recipient if agreement else "",
                           agreement.purpose if agreement else "", status, reason,
                           sorted(agreement.models) if agreement else [], columns or [], rows, sha256,
                           request.file_format, details["cipher"], agreement.profile if agreement else "",
                           auditlog.operator_name(), event_id))
    return event_id


def _read_model(conn: psycopg.Connection, relation: str, columns: list[Planned], limit: int) -> list[list]:
    """At most limit + 1 rows (one more than allowed tells the caller the limit is exceeded)."""
    schema, name = relation.split(".", 1)
    query = sql.SQL("select {} from {}.{} limit %s").format(
        sql.SQL(", ").join(sql.Identifier(p.column.name) for p in columns), sql.Identifier(schema),
        sql.Identifier(name))
    with conn.transaction():
        return [list(row) for row in conn.execute(query, (limit + 1,)).fetchall()]


def _csv_bytes(columns: list[Planned], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([p.column.name for p in columns])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _extract(conn, ring: KeyRing, agreement: Agreement, catalog: Catalog) -> tuple[dict, list[str], int]:
    """Per model, (planned columns, transformed rows); the 'model.column' list; total rows. Refuses over the limit."""
    profile = policy()["export_profiles"][agreement.profile]
    planned, _ = plan(agreement, catalog.of, profile)
    key, limit = agreement_key(ring, agreement.name), agreement.row_limit or 10**9
    tables, total = {}, 0
    for model, columns in planned.items():
        relation = columns[0].column.relation
        rows = _read_model(conn, relation, columns, limit - total)
        total += len(rows)
        if total > limit:
            raise Refused(f"agreement {agreement.name} allows {limit} rows; the extract has more")
        rows = [[transform_value(p.transform, v, profile, key) for p, v in zip(columns, row, strict=True)]
                for row in rows]
        suppress_sparse(rows, columns, profile)
        tables[model] = (columns, rows)
    names = [f"{m}.{p.column.name}" for m, cols in planned.items() for p in cols]
    return tables, names, total


def _parquet_bytes(columns: list[Planned], rows: list[list]) -> bytes:
    """One Parquet file (types inferred by Arrow from the values; a column of nulls only is typed null)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [p.column.name for p in columns]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _write(tables: dict, plain: Path, file_format: str = "csv") -> None:
    encode = _parquet_bytes if file_format == "parquet" else _csv_bytes
    if len(tables) == 1:
        (columns, rows), = tables.values()
        plain.write_bytes(encode(columns, rows))
        return
    with zipfile.ZipFile(plain, "w", zipfile.ZIP_DEFLATED) as archive:
        for model, (columns, rows) in sorted(tables.items()):
            archive.writestr(f"{model}.{file_format}", encode(columns, rows))


def _deliver(tables: dict, request: ExportRequest) -> str:
    """Write the file (sealed when a recipient key is given), mode 0600; returns its SHA-256."""
    from orchestration.envelope import encrypt_file, load_public_key

    with tempfile.TemporaryDirectory(prefix="wardflow-share-") as tmp:
        plain = Path(tmp) / "extract"
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        _write(tables, plain, request.file_format)
        if request.recipient_key:
            encrypt_file(plain, request.out, load_public_key(request.recipient_key), request.cipher)
        else:
            _copy_private(plain, request.out)
    return sha256_file(request.out)


def _copy_private(src: Path, dst: Path) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as sink, src.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            sink.write(block)


def request_problem(request: ExportRequest) -> str:
    """Problems of the request itself (format, cipher)."""
    from orchestration.envelope import CIPHERS

    if request.file_format not in FORMATS:
        return f"--format must be csv or parquet, not {request.file_format!r}"
    if request.recipient_key is not None and request.cipher not in CIPHERS:
        return f"--cipher must be one of {', '.join(CIPHERS)}"
    return ""


def export(conn: psycopg.Connection, ring: KeyRing, manifest: dict, request: ExportRequest) -> dict:
    """Export or refuse; either way logged. Raises Refused (after logging) with the one-line reason."""
    agreement = agreements(manifest).get(request.agreement)
    reason = in_force_problem(agreement, request.agreement, request.today) or request_problem(request)
    try:
        if reason:
            raise Refused(reason)
        assert agreement is not None
        tables, columns, rows = _extract(conn, ring, agreement, Catalog.from_manifest(manifest))
        sha256 = _deliver(tables, request)
    except Refused as refused:
        log_share(conn, request, agreement, "refused", reason=str(refused))
        raise
    event_id = log_share(conn, request, agreement, "delivered", columns=columns, rows=rows, sha256=sha256)
    return {"agreement": request.agreement, "recipient": agreement.recipient, "rows": rows, "columns": columns,
            "file": str(request.out), "sha256": sha256, "encrypted": bool(request.recipient_key),
            "cipher": request.cipher if request.recipient_key else "", "event_id": event_id}


def share_export(settings, request: ExportRequest) -> dict:
    """`wardflow share export` as the pipeline role (it reads analytics and appends to the audit log)."""
    from connectors.crypto import load_keyring
    from orchestration import openlineage
    from orchestration.project import prepare_manifest
    from orchestration.warehouse.database import connect

    manifest = json.loads(prepare_manifest().read_text())
    ring = load_keyring(settings)
    with connect(settings, "pipeline") as conn:
        try:
            result = export(conn, ring, manifest, request)
        except Refused:
            openlineage.export_event(settings, request.agreement, ok=False, error="refused")
            raise
        finally:
            auditlog.anchor(settings, conn)
    openlineage.export_event(settings, request.agreement, ok=True, columns=result["columns"],
                             sha256=result["sha256"])
    return result

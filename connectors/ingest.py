"""`wardflow ingest PATH…`: files and folders of HL7 v2 and FHIR, detected by content, landed or rejected.

Every input ends in exactly one of: landed, duplicate (seen before), rejected with a reason. Messages are
parsed with the fast tokenizer (connectors/hl7/parse.py), never hl7apy, and written in batches by
`Lander` (one COPY and one commit per batch).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from connectors.crypto import KeyRing
from connectors.landing import Lander, LandingCounts

SNIFF_BYTES = 4096
MAX_UNKNOWN_BYTES = 64 * 1024 * 1024
HL7_STARTS = (b"MSH", b"FHS", b"BHS")


@dataclass
class FileOutcome:
    """What happened to one input file (counts only; the path is the caller's own)."""

    path: Path
    format: str
    items: int = 0
    rejected: int = 0


@dataclass
class IngestReport:
    batch_id: str
    files: int = 0
    counts: LandingCounts = field(default_factory=LandingCounts)
    seconds: float = 0.0
    outcomes: list[FileOutcome] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"batch_id": self.batch_id, "files": self.files, **self.counts.as_dict(),
                "seconds": round(self.seconds, 3),
                "messages_per_second": round((self.counts.landed + self.counts.duplicates + self.counts.rejected)
                                             / self.seconds, 1) if self.seconds else None}


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Regular files under the given paths, in a stable order; missing paths raise FileNotFoundError."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")


def sniff(head: bytes) -> str:
    """'hl7v2', 'fhir' or 'unknown', from the first bytes of a file."""
    from connectors.fhir import looks_like_fhir

    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x0b")
    if stripped.startswith(HL7_STARTS):
        return "hl7v2"
    if looks_like_fhir(head):
        return "fhir"
    return "unknown"


def ingest_paths(paths: Iterable[Path], conn: psycopg.Connection, ring: KeyRing, *, source_kind: str = "file",
                 batch_size: int = 2000, on_progress: Callable[[int], None] | None = None,
                 validate: str = "lenient") -> IngestReport:
    """Land every file under `paths`; `on_progress(bytes_done)` is called after each file."""
    lander = Lander(conn, ring, source_kind=source_kind)
    report = IngestReport(batch_id=str(lander.batch_id))
    started = time.perf_counter()
    with lander.streaming():  # PostgreSQL stores one batch while the next is parsed
        for path in iter_files(paths):
            outcome = ingest_file(path, lander, batch_size=batch_size, validate=validate)
            report.outcomes.append(outcome)
            report.files += 1
            if on_progress:
                on_progress(path.stat().st_size)
        lander.flush()
    conn.execute("update landing.ingest_batches set inputs = inputs + %s, finished_at = now() where batch_id = %s",
                 (report.files, lander.batch_id))
    conn.commit()
    report.counts = lander.totals
    report.seconds = time.perf_counter() - started
    return report


def ingest_file(path: Path, lander: Lander, *, batch_size: int = 2000, validate: str = "lenient") -> FileOutcome:
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        kind = "empty" if not head.strip(b" \t\r\n\x00\xef\xbb\xbf") and len(head) < SNIFF_BYTES else sniff(head)
        handle.seek(0)
        outcome = FileOutcome(path, kind)
        if kind == "empty":
            pass  # nothing to land and nothing lost; counted in the report's files
        elif kind == "hl7v2":
            _land_hl7(handle, lander, outcome, batch_size, validate)
        elif kind == "fhir":
            _land_fhir(handle, lander, outcome, batch_size, validate)
        else:
            data = handle.read(MAX_UNKNOWN_BYTES)
            lander.reject(format="unknown", rule="input.format_unknown", field_path="file",
                          reason="file is neither HL7 v2 (MSH/FHS/BHS) nor FHIR JSON/NDJSON/XML "
                                 "(rule input.format_unknown)", data=data)
            outcome.rejected += 1
    return outcome


def _maybe_flush(lander: Lander, batch_size: int) -> None:
    if len(lander) >= batch_size:
        lander.flush()


def _land_hl7(handle, lander: Lander, outcome: FileOutcome, batch_size: int, validate: str = "lenient") -> None:
    from connectors.hl7.parse import Hl7ParseError, parse_message
    from connectors.hl7.split import split_messages
    from connectors.hl7.validate import strict_error

    for piece in split_messages(handle):
        if piece.kind == "message":
            outcome.items += 1
            try:
                msg = parse_message(piece.data)
                problem = strict_error(msg) if validate == "strict" else None
                if problem is not None:
                    raise problem
                lander.hl7(msg)
            except Hl7ParseError as err:
                lander.reject(format="hl7v2", rule=err.rule, field_path=err.field_path, error_code=str(err.code),
                              reason=_named(err), data=piece.data)
                outcome.rejected += 1
        elif piece.kind == "junk":
            outcome.rejected += 1
            lander.reject(format="hl7v2", rule="hl7.not_a_message", field_path=f"byte {piece.offset}",
                          reason=f"bytes at offset {piece.offset} are not part of an HL7 message "
                                 "(rule hl7.not_a_message)", data=piece.data)
        _maybe_flush(lander, batch_size)


def _named(err) -> str:
    """The error's sentence with the field named from the HL7 reference: 'MSH-10 MESSAGE_CONTROL_ID (ST): …'."""
    from connectors.hl7.reference import describe

    text = str(err)
    return text.replace(err.field_path, describe("2.5", err.field_path), 1) if err.field_path else text


def _land_fhir(handle, lander: Lander, outcome: FileOutcome, batch_size: int, validate: str) -> None:
    from connectors.fhir import FhirReject, read_fhir

    for item in read_fhir(handle, validate=validate):
        outcome.items += 1
        if isinstance(item, FhirReject):
            outcome.rejected += 1
            lander.reject(format="fhir", rule=item.rule, field_path=item.field_path, reason=item.message,
                          data=item.data)
        else:
            lander.fhir(item)
        _maybe_flush(lander, batch_size)

"""`wardflow ingest PATH…`: files and folders of HL7 v2 and FHIR, detected by content, landed or rejected.

Every input ends in exactly one of: landed, duplicate (seen before), rejected with a reason. Messages are
parsed with the fast tokenizer (connectors/hl7/parse.py), never hl7apy, and written in batches by
`Lander` (one COPY and one commit per batch).

Poison cannot stop a batch: a message or FHIR document over ``max_message_bytes`` is rejected (its head kept)
without being loaded whole, and a file that cannot be read is rejected (rule ``input.unreadable``) while the
other files land. Folders are walked without leaving them: a symbolic link is followed only to a regular file
inside the same folder, and with ``follow_links=False`` (the inbox) never; what is skipped is listed with a
reason in the report. Nothing here logs; reports carry counts, and paths only for the operator who gave them.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from connectors.crypto import KeyRing
from connectors.landing import Lander, LandingCounts

SNIFF_BYTES = 4096
MAX_UNKNOWN_BYTES = 64 * 1024 * 1024
MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # per HL7 message, FHIR document or NDJSON line; the MLLP frame limit too
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
    skipped: list[Skipped] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"batch_id": self.batch_id, "files": self.files, **self.counts.as_dict(),
                "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
                "seconds": round(self.seconds, 3),
                "messages_per_second": round((self.counts.landed + self.counts.duplicates + self.counts.rejected)
                                             / self.seconds, 1) if self.seconds else None}


@dataclass(frozen=True)
class Skipped:
    """A path under a given folder that was not read, and why (for the operator; never logged)."""

    path: Path
    reason: str


def list_inputs(paths: Iterable[Path], *, follow_links: bool = True) -> tuple[list[Path], list[Skipped]]:
    """Regular files under the given paths in a stable order, and what was skipped. A path named
    explicitly is read as given (following a link only if ``follow_links``); inside a folder, a link is
    followed only to a regular file in that same folder, and never without ``follow_links``. Missing paths
    raise FileNotFoundError."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if path.is_symlink() and not follow_links:
            skipped.append(Skipped(path, "symbolic link (links are not followed here)"))
        elif path.is_dir():
            _walk(path, files, skipped, follow_links)
        elif path.is_file():
            files.append(path)
        elif path.exists() or path.is_symlink():
            skipped.append(Skipped(path, "not a regular file" if path.exists() else "link to nothing"))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return files, skipped


def iter_files(paths: Iterable[Path]) -> list[Path]:
    """The regular files ``list_inputs`` would read."""
    return list_inputs(paths)[0]


def _walk(root: Path, files: list[Path], skipped: list[Skipped], follow_links: bool) -> None:
    top = root.resolve()
    found: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        for name in dirs:
            if (here / name).is_symlink():
                skipped.append(Skipped(here / name, "link to a folder (not followed)"))
        for name in names:
            path = here / name
            reason = _not_readable_here(path, top, follow_links)
            if reason:
                skipped.append(Skipped(path, reason))
            else:
                found.append(path)
    files.extend(sorted(found))


def _not_readable_here(path: Path, top: Path, follow_links: bool) -> str | None:
    """Why a directory entry is not read, or None: links only to regular files inside ``top``."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        if not follow_links:
            return "symbolic link (links are not followed here)"
        target = path.resolve()
        if not target.is_relative_to(top):
            return "symbolic link to a file outside the folder"
        return None if target.is_file() else "symbolic link to something that is not a regular file"
    return None if stat.S_ISREG(mode) else "not a regular file"


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
                 validate: str = "lenient", max_message_bytes: int = MAX_MESSAGE_BYTES,
                 follow_links: bool = True) -> IngestReport:
    """Land every file under `paths`; `on_progress(bytes_done)` is called after each file."""
    files, skipped = list_inputs(paths, follow_links=follow_links)
    lander = Lander(conn, ring, source_kind=source_kind)
    report = IngestReport(batch_id=str(lander.batch_id), skipped=skipped)
    started = time.perf_counter()
    with lander.streaming():  # PostgreSQL stores one batch while the next is parsed
        for path in files:
            outcome = _ingest_one(path, lander, batch_size, validate, max_message_bytes, follow_links)
            report.outcomes.append(outcome)
            report.files += 1
            if on_progress:
                on_progress(_size(path))
        lander.flush()
    conn.execute("update landing.ingest_batches set inputs = inputs + %s, finished_at = now() where batch_id = %s",
                 (report.files, lander.batch_id))
    conn.commit()
    report.counts = lander.totals
    report.seconds = time.perf_counter() - started
    return report


def _ingest_one(path: Path, lander: Lander, batch_size: int, validate: str, max_message_bytes: int,
                follow_links: bool) -> FileOutcome:
    """One file; one that cannot be opened or read to its end is rejected with the error's name (what it
    held before the error stays buffered and lands)."""
    try:
        return ingest_file(path, lander, batch_size=batch_size, validate=validate,
                           max_message_bytes=max_message_bytes, follow_links=follow_links)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        # the payload is the path (encrypted like any payload): what an operator needs to find the file
        lander.reject(format="unknown", rule="input.unreadable", field_path="file",
                      reason=f"file could not be read ({name}) (rule input.unreadable)",
                      data=str(path).encode("utf-8", "surrogateescape"))
        return FileOutcome(path, "unreadable", rejected=1)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _open(path: Path, follow_links: bool):
    """Open for reading; without ``follow_links`` a link put in place after listing is refused (ELOOP)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) * (not follow_links)
    return os.fdopen(os.open(path, flags), "rb")


def ingest_file(path: Path, lander: Lander, *, batch_size: int = 2000, validate: str = "lenient",
                max_message_bytes: int = MAX_MESSAGE_BYTES, follow_links: bool = True) -> FileOutcome:
    with _open(path, follow_links) as handle:
        head = handle.read(SNIFF_BYTES)
        kind = "empty" if not head.strip(b" \t\r\n\x00\xef\xbb\xbf") and len(head) < SNIFF_BYTES else sniff(head)
        handle.seek(0)
        outcome = FileOutcome(path, kind)
        land_stream(handle, kind, lander, outcome, batch_size=batch_size, validate=validate,
                    max_message_bytes=max_message_bytes)
    return outcome


def land_stream(handle, kind: str, lander: Lander, outcome: FileOutcome, *, batch_size: int = 2000,
                validate: str = "lenient", max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
    """Parse what `handle` holds as `kind` (hl7v2, fhir, empty; anything else is unknown) and land each piece or
    reject it with its field and rule: the one parse-or-reject path of files, the inbox and replay."""
    if kind == "empty":
        pass  # nothing to land and nothing lost; counted in the report's files
    elif kind == "hl7v2":
        _land_hl7(handle, lander, outcome, batch_size, validate, max_message_bytes)
    elif kind == "fhir":
        _land_fhir(handle, lander, outcome, batch_size, validate, max_message_bytes)
    else:
        data = handle.read(min(MAX_UNKNOWN_BYTES, max_message_bytes))
        lander.reject(format="unknown", rule="input.format_unknown", field_path="file",
                      reason="file is neither HL7 v2 (MSH/FHS/BHS) nor FHIR JSON/NDJSON/XML "
                             "(rule input.format_unknown)", data=data)
        outcome.rejected += 1


def too_large_reason(size: int, limit: int) -> str:
    return (f"{size} bytes, over the limit of {limit} bytes per message (rule input.too_large); "
            f"the first {limit} bytes are kept")


def _maybe_flush(lander: Lander, batch_size: int) -> None:
    if len(lander) >= batch_size:
        lander.flush()


def _land_hl7(handle, lander: Lander, outcome: FileOutcome, batch_size: int, validate: str = "lenient",
              max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
    from connectors.hl7.parse import Hl7ParseError, parse_message
    from connectors.hl7.split import split_messages
    from connectors.hl7.validate import strict_error

    for piece in split_messages(handle, max_message_bytes=max_message_bytes):
        if piece.kind == "too_large" or (piece.kind == "message" and len(piece.data) > max_message_bytes):
            outcome.items += 1
            outcome.rejected += 1
            lander.reject(format="hl7v2", rule="input.too_large", field_path=f"byte {piece.offset}", error_code="104",
                          reason=too_large_reason(piece.size or len(piece.data), max_message_bytes),
                          data=piece.data[:max_message_bytes])
        elif piece.kind == "message":
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


def _land_fhir(handle, lander: Lander, outcome: FileOutcome, batch_size: int, validate: str,
               max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
    from connectors.fhir import FhirReject, read_fhir

    for item in read_fhir(handle, validate=validate, max_bytes=max_message_bytes):
        outcome.items += 1
        if isinstance(item, FhirReject):
            outcome.rejected += 1
            lander.reject(format="fhir", rule=item.rule, field_path=item.field_path, reason=item.message,
                          data=item.data)
        else:
            lander.fhir(item)
        _maybe_flush(lander, batch_size)

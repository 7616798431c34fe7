"""Encrypt parsed input and COPY it into landing.*, one transaction per flush.

A `Lander` buffers HL7 messages, FHIR resources and rejects; `flush()` seals every payload
(connectors/crypto.py), writes them with binary COPY and commits. A message seen before is counted as a
duplicate, not landed twice (unique key: sender, control id, content fingerprint). Only after `flush()`
returns has anything been committed: the MLLP listener ACKs after that.

Two ways into landing.hl7_messages, same outcome:

- one round trip: a small HL7-only batch (the MLLP listener's) is inserted with ``ON CONFLICT DO NOTHING`` in
  one libpq pipeline (connectors/pipelined.py); resends in it are skipped and counted, with no rollback.
- direct (the common case for files): the first copy of each key in the batch is COPYed straight into the
  table. A key that is already there makes the COPY fail with a unique violation; the transaction is then
  rolled back and the batch goes the checked way. After a batch with duplicates the next one goes the
  checked way at once (a re-sent file is mostly duplicates).
- checked: COPY into a temporary table, ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (also FHIR and
  rejects, which are few).

Inside ``with lander.streaming():`` the direct COPY is opened at the first message of a batch and each
row is sent as it is added, so PostgreSQL stores one batch while the caller parses the next messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import orjson
import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

from connectors.crypto import Fingerprinter, KeyRing, Sealer
from connectors.pipelined import (
    HL7_COLUMNS,
    HL7_TYPES,
    LOCK_LANDING,
    PipelinedLanding,
    batch_counts_sql,
    flag_reused_sql,
)

if TYPE_CHECKING:
    from connectors.fhir.records import FhirResource
    from connectors.hl7.parse import Hl7Message

Outcome = Literal["landed", "duplicate", "rejected"]


@dataclass
class LandingCounts:
    """What one or more flushes did; counts only, never content."""

    landed: int = 0
    duplicates: int = 0
    rejected: int = 0
    control_ids_reused: int = 0
    bytes: int = 0

    def add(self, other: LandingCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Buffer:
    """One batch. HL7 rows are in landing column order (HL7_COLUMNS); ``first`` maps each dedup key to
    the index of its first row in the batch (later rows with that key are duplicates)."""

    hl7: list[tuple] = field(default_factory=list)
    first: dict[tuple, int] = field(default_factory=dict)
    fhir: list[tuple] = field(default_factory=list)
    rejected: list[tuple] = field(default_factory=list)
    order: list[tuple[str, int]] = field(default_factory=list)
    stream_broken: bool = False  # a streamed COPY for this batch failed: land it from the buffer

    def __len__(self) -> int:
        return len(self.order)


_COPY_HL7 = f"copy landing.hl7_messages ({HL7_COLUMNS}) from stdin (format binary)"
# A binary COPY keeps up to 1,000 rows before inserting them (PostgreSQL counts buffered bytes only for text
# input), so a streamed batch would leave its last ~1,000 rows (~30 ms of work) until after the COPY ends, with
# Python waiting. A volatile WHERE clause, always true, makes PostgreSQL insert each row as it arrives
# (copyfrom.c falls back to single inserts): the server keeps pace and the COPY ends at once.
_STREAM_HL7 = _COPY_HL7 + " where random() >= 0"
_TMP_HL7_TYPES = ["int4"] + HL7_TYPES[2:]
_TMP_FHIR_TYPES = ["int4", "text", "bytea", "text", "text", "int4", "bytea", "int4", "bytea"]
_TMP_REJECTED_TYPES = ["int4"] + ["text"] * 5 + ["int4", "bytea", "int4", "bytea"]

_TEMP_TABLES = """
create temp table if not exists tmp_hl7 (seq int, sender text, receiver text, message_type text,
  trigger_event text, message_structure text, control_id text, version text, charset text,
  payload_bytes int, content_hmac bytea, key_version int, payload bytea, doc bytea) on commit delete rows;
create temp table if not exists tmp_fhir (seq int, resource_type text, resource_key bytea, version_id text,
  bundle_type text, payload_bytes int, content_hmac bytea, key_version int, payload bytea) on commit delete rows;
create temp table if not exists tmp_rejected (seq int, format text, rule text, field_path text, error_code text,
  reason text, payload_bytes int, content_hmac bytea, key_version int, payload bytea) on commit delete rows;
"""

_MOVE_HL7 = """
insert into landing.hl7_messages (batch_id, source_kind, sender, receiver, message_type, trigger_event,
  message_structure, control_id, version, charset, payload_bytes, content_hmac, key_version, payload, doc)
select %(batch)s, %(kind)s, sender, receiver, message_type, trigger_event, message_structure, control_id,
  version, charset, payload_bytes, content_hmac, key_version, payload, doc
from tmp_hl7 order by seq
on conflict on constraint hl7_messages_dedup do nothing
returning sender, control_id, content_hmac
"""

# Same sender and control id, different content: landed, and every copy flagged.
_FLAG_REUSED = flag_reused_sql("%s")
_COUNT_BATCH = batch_counts_sql("%s::uuid", "%s", "%s", "%s", "%s", "%s")

_MOVE_FHIR = """
insert into landing.fhir_resources (batch_id, source_kind, resource_type, resource_key, version_id,
  bundle_type, payload_bytes, content_hmac, key_version, payload)
select %(batch)s, %(kind)s, resource_type, resource_key, version_id, bundle_type, payload_bytes, content_hmac,
  key_version, payload
from tmp_fhir order by seq
on conflict on constraint fhir_resources_dedup do nothing
returning resource_type, content_hmac
"""

_MOVE_REJECTED = """
insert into landing.rejected (batch_id, source_kind, format, rule, field_path, error_code, reason,
  payload_bytes, content_hmac, key_version, payload)
select %(batch)s, %(kind)s, format, rule, field_path, error_code, reason, payload_bytes, content_hmac,
  key_version, payload
from tmp_rejected order by seq
on conflict on constraint rejected_dedup do nothing
"""


class _Stream:
    """An open binary COPY into landing.hl7_messages for one batch (holds the connection until closed)."""

    def __init__(self, conn: psycopg.Connection, buffer: _Buffer):
        self.buffer = buffer
        self._cursor = conn.cursor()
        self._cursor.execute(LOCK_LANDING)  # before the COPY: the connection is the COPY's until it ends
        self._cm: AbstractContextManager[psycopg.Copy] = self._cursor.copy(_STREAM_HL7)
        self.copy = self._cm.__enter__()
        self.copy.set_types(HL7_TYPES)

    def finish(self) -> None:
        """End the COPY; raises what the server reports (a unique violation for a duplicate)."""
        try:
            self._cm.__exit__(None, None, None)
        finally:
            self._cursor.close()

    def abort(self) -> None:
        """Cancel the COPY (the transaction is left failed: the caller rolls back)."""
        reason = RuntimeError("landing batch abandoned")
        try:
            self._cm.__exit__(RuntimeError, reason, None)
        except Exception:  # noqa: S110 - the connection may be gone; the caller rolls back either way
            pass
        finally:
            self._cursor.close()


def seal_hl7(msg: Hl7Message, sealer: Sealer, fingerprint: Fingerprinter, batch: uuid.UUID,
             source_kind: str) -> tuple:
    """The landing row of one message (columns of HL7_COLUMNS): routing, fingerprint, sealed payload and
    document; no document (None) when staging builds it from the payload (``Hl7Message.sql_document``). A Sealer
    is not thread-safe (it chains one AES context): one per thread."""
    raw, seal = msg.raw, sealer.seal
    return (batch, source_kind, msg.sending_application + "|" + msg.sending_facility,
            msg.receiving_application + "|" + msg.receiving_facility, msg.message_type, msg.trigger_event,
            msg.message_structure, msg.control_id, msg.version, msg.charset, len(raw), fingerprint.content(raw),
            sealer.version, seal(raw),
            None if msg.sql_document else seal(msg.doc_json()))  # doc_json: orjson.dumps(msg.doc()) without lists


def batch_uuid(batch_id: object) -> uuid.UUID:
    return batch_id if isinstance(batch_id, uuid.UUID) else uuid.UUID(str(batch_id))


class Lander:
    """Buffers what one source delivers and lands it durably on `flush()`."""

    def __init__(self, conn: psycopg.Connection, ring: KeyRing, *, source_kind: str,
                 batch_id: uuid.UUID | None = None):
        self.conn = conn
        self.source_kind = source_kind
        self.batch_id = batch_id or uuid.uuid4()
        self._row_batch = batch_uuid(self.batch_id)
        self._sealer = Sealer(ring)
        self._fingerprint = Fingerprinter(ring)
        self._buffer = _Buffer()
        self.totals = LandingCounts()
        self._prepared = False   # temp tables exist in this session
        self._direct = True      # the last batch had no duplicates: try the direct COPY
        self._streaming = False
        self._stream: _Stream | None = None
        self._pipelined = PipelinedLanding(conn)

    def __len__(self) -> int:
        return len(self._buffer)

    @contextmanager
    def streaming(self) -> Iterator[Lander]:
        """Send HL7 rows to PostgreSQL as they are added (see the module docstring). Until `flush()`,
        the connection is busy with the COPY: use it for nothing else inside the block. Rows not flushed
        when the block ends stay buffered, uncommitted, as without streaming."""
        self._streaming = True
        try:
            yield self
        finally:
            self._streaming = False
            if self._drop_stream():
                self._rollback()

    def hl7(self, msg: Hl7Message, sealed: tuple | None = None) -> None:
        """Buffer one message. ``sealed``: its row made beforehand by ``seal_hl7`` with this Lander's batch id
        and source kind (the MLLP listener seals on its event loop while the batch is still being collected)."""
        row = sealed or seal_hl7(msg, self._sealer, self._fingerprint, self._row_batch, self.source_kind)
        sender, fingerprint = row[2], row[11]
        buffer = self._buffer
        index = len(buffer.hl7)
        buffer.hl7.append(row)
        buffer.order.append(("hl7", index))
        if buffer.first.setdefault((sender, msg.control_id, fingerprint), index) != index:
            return  # a duplicate within the batch
        if self._streaming and self._direct and not buffer.stream_broken:
            self._stream_row(buffer, row)

    def fhir(self, res: FhirResource) -> None:
        # Stored as the Bundle.entry shape so that staging can resolve urn:uuid references.
        content = b'{"fullUrl":' + orjson.dumps(res.full_url) + b',"resource":' + res.content + b"}"
        resource_key = (self._fingerprint.content(f"{res.resource_type}/{res.resource_id}".encode())
                        if res.resource_id else None)
        row = (len(self._buffer), res.resource_type, resource_key, res.version_id, res.bundle_type, len(content),
               self._fingerprint.content(content), self._sealer.version, self._sealer.seal(content))
        self._buffer.fhir.append(row)
        self._buffer.order.append(("fhir", len(self._buffer.fhir) - 1))

    def reject(self, *, format: str, rule: str, reason: str, data: bytes, field_path: str = "",
               error_code: str = "") -> None:
        """Keep what could not be parsed, encrypted, with a reason that names field and rule (no value)."""
        row = (len(self._buffer), format, rule, field_path, error_code, reason, len(data),
               self._fingerprint.content(data), self._sealer.version, self._sealer.seal(data))
        self._buffer.rejected.append(row)
        self._buffer.order.append(("rejected", len(self._buffer.rejected) - 1))

    def flush(self) -> tuple[LandingCounts, list[Outcome]]:
        """Commit everything buffered; returns counts and one outcome per item in the order added."""
        buffer, self._buffer = self._buffer, _Buffer()
        if not buffer.order:
            return LandingCounts(), []
        try:
            counts, outcomes = self._write(buffer)
        except BaseException:
            self._drop_stream()
            self._rollback()
            buffer.stream_broken = True  # the retry lands it from the buffer
            self._buffer = buffer  # nothing was committed: keep it for a retry
            raise
        self.totals.add(counts)
        return counts, outcomes

    def _stream_row(self, buffer: _Buffer, row: tuple) -> None:
        try:
            if self._stream is None:
                if len(buffer.first) != 1:  # streaming began mid-batch: this batch lands from the buffer
                    buffer.stream_broken = True
                    return
                self._stream = _Stream(self.conn, buffer)
            self._stream.copy.write_row(row)
        except BaseException:
            buffer.stream_broken = True
            self._drop_stream()
            self._rollback()
            raise

    def _drop_stream(self) -> bool:
        """Cancel an open COPY stream (the caller rolls back); True if there was one."""
        stream, self._stream = self._stream, None
        if stream is None:
            return False
        stream.buffer.stream_broken = True
        stream.abort()
        return True

    def _rollback(self) -> None:
        self._prepared = False  # temp tables created in the rolled back transaction are gone
        if not self.conn.closed:  # a lost or abandoned session has nothing to roll back (and would raise)
            self.conn.rollback()

    def _write(self, buffer: _Buffer) -> tuple[LandingCounts, list[Outcome]]:
        counts = LandingCounts()
        with self.conn.cursor() as cur:
            if self._stream is None and buffer.hl7 and not buffer.fhir and not buffer.rejected:
                hl7_new = self._write_pipelined(buffer, counts)
                if hl7_new is not None:
                    return self._outcomes(buffer, counts, hl7_new, set())
            if self._stream is None:  # else the stream took it when it began this transaction
                cur.execute(LOCK_LANDING)
            hl7_new = self._land_hl7(cur, buffer)
            fhir_new = self._move(cur, "tmp_fhir", _TMP_FHIR_TYPES, buffer.fhir, _MOVE_FHIR,
                                  key=lambda r: (r[1], r[6]))
            if buffer.hl7:
                keys = Jsonb(list({(r[2], r[7]) for r in buffer.hl7}), dumps=orjson.dumps)  # [[sender, id], …]
                counts.control_ids_reused = len(cur.execute(_FLAG_REUSED, (keys,)).fetchall())
            if buffer.rejected:
                self._copy(cur, "tmp_rejected", _TMP_REJECTED_TYPES, buffer.rejected)
                cur.execute(_MOVE_REJECTED, self._params())
            self._record_batch(cur, buffer, hl7_new, fhir_new)
        self.conn.commit()
        return self._outcomes(buffer, counts, hl7_new, fhir_new)

    def _write_pipelined(self, buffer: _Buffer, counts: LandingCounts) -> set[int] | None:
        """A small HL7-only batch in one round trip (connectors/pipelined.py), committed, resends skipped by the
        dedup key; None when it cannot go that way (too large) and takes the way below."""
        first = buffer.first
        rows = [buffer.hl7[i] for i in sorted(first.values())]
        if not self._pipelined.usable(rows):
            return None
        inserted, counts.control_ids_reused = self._pipelined.land(
            rows, batch_id=self._row_batch, source_kind=self.source_kind, offered=len(buffer.hl7),
            nbytes=sum(r[10] for r in buffer.hl7),
            keys_json=orjson.dumps([list(p) for p in {(sender, cid) for sender, cid, _ in first}]))
        return {first[key] for key in inserted if key in first}

    def _outcomes(self, buffer: _Buffer, counts: LandingCounts, hl7_new: set[int],
                  fhir_new: set[int]) -> tuple[LandingCounts, list[Outcome]]:
        self._direct = len(hl7_new) == len(buffer.first)  # no duplicate of an earlier batch
        outcomes: list[Outcome] = []
        for kind, index in buffer.order:
            if kind == "rejected":
                outcomes.append("rejected")
            else:
                outcomes.append("landed" if index in (hl7_new if kind == "hl7" else fhir_new) else "duplicate")
        counts.landed = len(hl7_new) + len(fhir_new)
        counts.duplicates = len(buffer.hl7) + len(buffer.fhir) - counts.landed
        counts.rejected = len(buffer.rejected)
        counts.bytes = sum(r[10] for r in buffer.hl7) + sum(r[5] for r in buffer.fhir) + sum(
            r[6] for r in buffer.rejected)
        return counts, outcomes

    def _land_hl7(self, cur: psycopg.Cursor, buffer: _Buffer) -> set[int]:
        """Indexes of the buffered HL7 rows that landed: direct COPY, else (a duplicate) the checked way."""
        if not buffer.hl7:
            return set()
        first = set(buffer.first.values())
        stream, self._stream = self._stream, None
        try:
            if stream is not None:
                if stream.buffer is not buffer:
                    stream.abort()
                    raise RuntimeError("landing COPY stream out of step with its batch")
                stream.finish()
                return first
            if self._direct:
                with cur.copy(_COPY_HL7) as copy:
                    copy.set_types(HL7_TYPES)
                    for index in sorted(first):
                        copy.write_row(buffer.hl7[index])
                return first
        except errors.UniqueViolation:
            self._rollback()
            cur.execute(LOCK_LANDING)  # a new transaction
        rows = [(i, *row[2:]) for i, row in enumerate(buffer.hl7)]
        return self._move(cur, "tmp_hl7", _TMP_HL7_TYPES, rows, _MOVE_HL7, key=lambda r: (r[1], r[6], r[10]))

    def _params(self) -> dict:
        return {"batch": self.batch_id, "kind": self.source_kind}

    def _move(self, cur: psycopg.Cursor, table: str, types: list[str], rows: Sequence[tuple], statement: str,
              key: Callable[[tuple], tuple]) -> set[int]:
        """COPY rows into a temp table, insert the new ones, and return the buffer indexes that landed."""
        if not rows:
            return set()
        self._copy(cur, table, types, rows)
        inserted = cur.execute(statement, self._params()).fetchall()
        waiting: dict[tuple, list[int]] = {}
        for index, row in enumerate(rows):
            waiting.setdefault(key(row), []).append(index)
        landed = set()
        for returned in inserted:
            indexes = waiting.get(tuple(returned))
            if indexes:
                landed.add(indexes.pop(0))
        return landed

    def _copy(self, cur: psycopg.Cursor, table: str, types: list[str], rows: Sequence[tuple]) -> None:
        if not self._prepared:
            cur.execute(_TEMP_TABLES)
            self._prepared = True
        with cur.copy(f"copy {table} from stdin (format binary)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def _record_batch(self, cur: psycopg.Cursor, buffer: _Buffer, hl7_new: set[int], fhir_new: set[int]) -> None:
        landed = len(hl7_new) + len(fhir_new)
        cur.execute(
            _COUNT_BATCH,
            (self.batch_id, self.source_kind, landed, len(buffer.hl7) + len(buffer.fhir) - landed,
             len(buffer.rejected), sum(r[10] for r in buffer.hl7) + sum(r[5] for r in buffer.fhir)),
        )

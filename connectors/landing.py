"""Encrypt parsed input and COPY it into landing.*, one transaction per flush.

A `Lander` buffers HL7 messages, FHIR resources and rejects; `flush()` seals every payload
(connectors/crypto.py), COPYs them into temporary tables and moves them into the landing tables with
``ON CONFLICT DO NOTHING`` so that a message seen before is counted as a duplicate, not landed twice.
Only after `flush()` returns has anything been committed: the MLLP listener ACKs after that.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import orjson
import psycopg

from connectors.crypto import Fingerprinter, KeyRing, Sealer

if TYPE_CHECKING:
    from connectors.fhir.read import FhirResource
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
    hl7: list[tuple] = field(default_factory=list)
    fhir: list[tuple] = field(default_factory=list)
    rejected: list[tuple] = field(default_factory=list)
    order: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.order)


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
_FLAG_REUSED = """
with keys as (select distinct sender, control_id from tmp_hl7),
reused as (
  select m.sender, m.control_id from landing.hl7_messages m join keys using (sender, control_id)
  group by 1, 2 having count(*) > 1)
update landing.hl7_messages m set control_id_reused = true
from reused r where m.sender = r.sender and m.control_id = r.control_id and not m.control_id_reused
returning m.message_id
"""

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


class Lander:
    """Buffers what one source delivers and lands it durably on `flush()`."""

    def __init__(self, conn: psycopg.Connection, ring: KeyRing, *, source_kind: str,
                 batch_id: uuid.UUID | None = None):
        self.conn = conn
        self.source_kind = source_kind
        self.batch_id = batch_id or uuid.uuid4()
        self._sealer = Sealer(ring)
        self._fingerprint = Fingerprinter(ring)
        self._buffer = _Buffer()
        self.totals = LandingCounts()
        self._prepared = False

    def __len__(self) -> int:
        return len(self._buffer)

    def hl7(self, msg: Hl7Message) -> None:
        raw = msg.raw
        doc = msg.doc_json()  # same JSON as orjson.dumps(msg.doc()), without building lists
        row = (len(self._buffer), msg.sending_application + "|" + msg.sending_facility,
               msg.receiving_application + "|" + msg.receiving_facility, msg.message_type, msg.trigger_event,
               msg.message_structure, msg.control_id, msg.version, msg.charset, len(raw),
               self._fingerprint.content(raw), self._sealer.version, self._sealer.seal(raw), self._sealer.seal(doc))
        self._buffer.hl7.append(row)
        self._buffer.order.append(("hl7", len(self._buffer.hl7) - 1))

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
            self.conn.rollback()
            self._buffer = buffer  # nothing was committed: keep it for a retry
            raise
        self.totals.add(counts)
        return counts, outcomes

    def _write(self, buffer: _Buffer) -> tuple[LandingCounts, list[Outcome]]:
        params = {"batch": self.batch_id, "kind": self.source_kind}
        counts = LandingCounts()
        with self.conn.cursor() as cur:
            if not self._prepared:
                cur.execute(_TEMP_TABLES)
                self._prepared = True
            hl7_new = self._move(cur, "tmp_hl7", buffer.hl7, _MOVE_HL7, params, key=lambda r: (r[1], r[6], r[10]))
            fhir_new = self._move(cur, "tmp_fhir", buffer.fhir, _MOVE_FHIR, params, key=lambda r: (r[1], r[6]))
            if buffer.hl7:
                counts.control_ids_reused = len(cur.execute(_FLAG_REUSED).fetchall())
            if buffer.rejected:
                self._copy(cur, "tmp_rejected", buffer.rejected)
                cur.execute(_MOVE_REJECTED, params)
            self._record_batch(cur, buffer, hl7_new, fhir_new)
        self.conn.commit()
        outcomes: list[Outcome] = []
        for kind, index in buffer.order:
            if kind == "rejected":
                outcomes.append("rejected")
            else:
                outcomes.append("landed" if index in (hl7_new if kind == "hl7" else fhir_new) else "duplicate")
        counts.landed = len(hl7_new) + len(fhir_new)
        counts.duplicates = len(buffer.hl7) + len(buffer.fhir) - counts.landed
        counts.rejected = len(buffer.rejected)
        counts.bytes = sum(r[9] for r in buffer.hl7) + sum(r[5] for r in buffer.fhir) + sum(
            r[6] for r in buffer.rejected)
        return counts, outcomes

    def _move(self, cur: psycopg.Cursor, table: str, rows: Sequence[tuple], statement: str, params: dict,
              key) -> set[int]:
        """COPY rows into a temp table, insert the new ones, and return the buffer indexes that landed."""
        if not rows:
            return set()
        self._copy(cur, table, rows)
        inserted = cur.execute(statement, params).fetchall()
        waiting: dict[tuple, list[int]] = {}
        for index, row in enumerate(rows):
            waiting.setdefault(key(row), []).append(index)
        landed = set()
        for returned in inserted:
            indexes = waiting.get(tuple(returned))
            if indexes:
                landed.add(indexes.pop(0))
        return landed

    @staticmethod
    def _copy(cur: psycopg.Cursor, table: str, rows: Sequence[tuple]) -> None:
        with cur.copy(f"copy {table} from stdin") as copy:
            for row in rows:
                copy.write_row(row)

    def _record_batch(self, cur: psycopg.Cursor, buffer: _Buffer, hl7_new: set[int], fhir_new: set[int]) -> None:
        landed = len(hl7_new) + len(fhir_new)
        cur.execute(
            """insert into landing.ingest_batches as b (batch_id, source_kind, landed, duplicates, rejected, bytes)
               values (%s, %s, %s, %s, %s, %s)
               on conflict (batch_id) do update set landed = b.landed + excluded.landed,
                 duplicates = b.duplicates + excluded.duplicates, rejected = b.rejected + excluded.rejected,
                 bytes = b.bytes + excluded.bytes""",
            (self.batch_id, self.source_kind, landed, len(buffer.hl7) + len(buffer.fhir) - landed,
             len(buffer.rejected), sum(r[9] for r in buffer.hl7) + sum(r[5] for r in buffer.fhir)),
        )

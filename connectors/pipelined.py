"""A small HL7-only landing batch in one round trip: the MLLP listener's flush.

``BEGIN``, the landing lock with the batch's counts, one multi-row ``INSERT`` of the sealed rows, the
reused-control-id flags and ``COMMIT`` go to PostgreSQL as one libpq pipeline (``psycopg.pq``, psycopg's
documented binding of libpq), with the values as binary parameters of statements prepared once per session
and batch size. The COPY path (``connectors/landing.py``) needs more round trips for the same work: BEGIN,
the lock, the COPY's start and end, the reused-id probe, the batch counts, COMMIT. With stop-and-wait senders
the listener waits for each of them, so a 16-message flush takes ~1.1 instead of ~1.3 ms, and half the Python
time.

Outcomes are those of the COPY path: a row already landed (a resend) is skipped by the dedup key and reported
as a duplicate — in the same round trip, so a batch that mixes landed and new messages (what senders resend
after a crash) costs no rollback and no second way in; any failure is rolled back and raised as psycopg's
exception class for its SQLSTATE, without the server's text (its messages can quote the values they refuse). Reused control ids are flagged after the
INSERT: every row of a (sender, control id) that now has more than one content. A failure before the results
are read (a lost network, an interrupt) closes the session, which may hold unread results; the server may
have committed the batch meanwhile, which a resend then finds as duplicates.

This class is the only owner of prepared statements on its session: it turns psycopg's automatic preparing
off there (psycopg's ``rollback()`` sends ``DEALLOCATE ALL`` whenever it holds statements of its own, which
silently dropped these). Its record of what the server holds is cleared after any failure, and the names
carry a generation so that preparing again never collides with a statement that survived; a statement the
server no longer knows (SQLSTATE 26000, say after a ``DEALLOCATE ALL`` by anyone) is prepared again and the
batch retried once.
"""

from __future__ import annotations

import select
import uuid
import weakref
from collections.abc import Sequence

import psycopg
from psycopg import errors, pq

MAX_ROWS = 64  # larger batches go by COPY (statement size and one prepared statement per size)
MAX_BYTES = 4 << 20  # and so do batches of large messages: libpq holds a copy of every parameter until sent
# A landing.hl7_messages row as landing builds it (connectors/landing.py seal_hl7), shared by both ways in.
HL7_COLUMNS = ("batch_id, source_kind, sender, receiver, message_type, trigger_event, message_structure, "
               "control_id, version, charset, payload_bytes, content_hmac, key_version, payload, doc")
HL7_TYPES = ["uuid"] + ["text"] * 9 + ["int4", "bytea", "int4", "bytea", "bytea"]
# Taken by every landing transaction before it inserts: a dbt watermark takes it exclusively for an instant,
# so every landing id at or below the maximum it reads is committed (no row is skipped by incremental runs).
LOCK_LANDING = "select pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtext('wardflow.landing'))"


def batch_counts_sql(batch: str, kind: str, landed: str, duplicates: str, rejected: str, nbytes: str, *,
                     source: str = "") -> str:
    """The statement that adds one flush's counts to its landing.ingest_batches row, for the given expressions;
    ``source``, a FROM clause the expressions read (the one-round-trip flush counts the rows it inserted)."""
    source = f" from {source}" if source else ""
    return f"""
insert into landing.ingest_batches as b (batch_id, source_kind, landed, duplicates, rejected, bytes)
select {batch}, {kind}, {landed}, {duplicates}, {rejected}, {nbytes}{source}
on conflict (batch_id) do update set landed = b.landed + excluded.landed,
  duplicates = b.duplicates + excluded.duplicates, rejected = b.rejected + excluded.rejected,
  bytes = b.bytes + excluded.bytes
"""


_LOCK = LOCK_LANDING.encode()


def flag_reused_sql(keys: str) -> str:
    """The statement that flags reused control ids, for the keys (a jsonb array of [sender, control id]) given
    by the placeholder ``keys``: every row of a key that now has more than one content, returning the rows it
    flagged. Run after the batch's rows are in, so two contents under one key in the batch count too. Finding
    the keys is a correlated count that can only probe the dedup index, once per key: a join there let the
    planner pick a hash join over a scan of the whole landing table once it had grown."""
    return f"""
update landing.hl7_messages as m set control_id_reused = true
from jsonb_array_elements({keys}) as k
where m.sender = k->>0 and m.control_id = k->>1 and not m.control_id_reused
  and (select count(*) from landing.hl7_messages as x where x.sender = k->>0 and x.control_id = k->>1) > 1
returning m.message_id
"""  # noqa: S608 - table and column names are constants; values go as parameters


_FLAG = flag_reused_sql("$1::text::jsonb").encode()
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


def _insert_sql(rows: int) -> bytes:
    """The rows (parameters 1 … rows × width) inserted unless already landed, and the batch's counts added
    (the four parameters after them: batch id, source kind, rows offered, bytes); returns the dedup key of
    every row inserted."""
    width = len(HL7_TYPES)
    values = ", ".join("(" + ", ".join(f"${r * width + i + 1}::{t}" for i, t in enumerate(HL7_TYPES)) + ")"
                       for r in range(rows))
    n = rows * width
    counts = batch_counts_sql(f"${n + 1}::uuid", f"${n + 2}::text", "c.n", f"${n + 3}::int4 - c.n", "0",
                              f"${n + 4}::int8", source="(select count(*)::int4 as n from ins) as c")
    return (f"with ins as (insert into landing.hl7_messages ({HL7_COLUMNS}) values {values}\n"  # noqa: S608 - table and column names are constants; values go as parameters
            "on conflict on constraint hl7_messages_dedup do nothing returning sender, control_id, content_hmac),\n"
            f"counted as ({counts.strip()})\nselect sender, control_id, content_hmac from ins").encode()


def _binary(value: object) -> bytes | None:
    """A landing row value as a binary parameter: uuid, text (UTF-8), int4, bytea or null."""
    if isinstance(value, bytes) or value is None:
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return value.to_bytes(4, "big", signed=True)
    if isinstance(value, uuid.UUID):
        return value.bytes
    raise TypeError(f"no binary landing parameter for {type(value).__name__}")


class _Prepared:
    """What this module believes the server holds prepared on one session, and the generation of its names."""

    __slots__ = ("names", "generation")

    def __init__(self) -> None:
        self.names: set[bytes] = set()
        self.generation = 0

    def forget(self) -> None:
        """After any failure: prepare again, under new names (a statement that survived cannot collide)."""
        self.names.clear()
        self.generation += 1


# Statements prepared on each session: they live as long as the session, which can outlive a Lander (the
# listener replaces its Lander after a failed batch).
_PREPARED: weakref.WeakKeyDictionary[psycopg.Connection, _Prepared] = weakref.WeakKeyDictionary()
_STALE = ("26000", "42P05")  # the server does not know a statement we prepared / knows one we did not expect


class PipelinedLanding:
    """The one-round-trip landing on one session."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        conn.prepare_threshold = None  # psycopg prepares nothing here: the statements on this session are ours
        self._state = _PREPARED.setdefault(conn, _Prepared())

    def usable(self, rows: Sequence[tuple]) -> bool:
        """These landing rows can go this way on this session now."""
        pgconn = self.conn.pgconn
        return (0 < len(rows) <= MAX_ROWS and not self.conn.closed
                and pgconn.transaction_status == pq.TransactionStatus.IDLE
                and pgconn.pipeline_status == pq.PipelineStatus.OFF
                and sum(len(r[13]) + len(r[14] or b"") for r in rows) <= MAX_BYTES)  # sealed payload and document

    def land(self, rows: Sequence[tuple], *, batch_id: uuid.UUID, source_kind: str, offered: int, nbytes: int,
             keys_json: bytes) -> tuple[list[tuple], int]:
        """Insert ``rows`` (landing column order) unless already landed, add the counts (``offered``: rows of
        the batch, in-batch duplicates included) and commit; returns the dedup keys (sender, control id,
        fingerprint) of the rows inserted and how many rows were flagged as reusing a control id. Raises
        (after rolling back) what the server reported. A statement the server has lost is prepared again
        and the batch sent once more."""
        try:
            return self._land(rows, batch_id, source_kind, offered, nbytes, keys_json)
        except psycopg.Error as exc:
            if exc.sqlstate not in _STALE or not self.usable(rows):
                raise  # the record of prepared statements is exact after an error the server reported
            self._state.forget()
        return self._land(rows, batch_id, source_kind, offered, nbytes, keys_json)

    def _land(self, rows: Sequence[tuple], batch_id: uuid.UUID, source_kind: str, offered: int, nbytes: int,
              keys_json: bytes) -> tuple[list[tuple], int]:
        pgconn, state = self.conn.pgconn, self._state
        lock, insert, flag = (b"wardflow_land_%d_%s" % (state.generation, part)
                              for part in (b"lock", b"%d" % len(rows), b"flag"))
        statements = [(lock, _LOCK), (insert, None), (flag, _FLAG)]
        pgconn.enter_pipeline_mode()
        try:
            pgconn.send_query_params(b"begin", None)
            for name, text in statements:
                if name not in state.names:
                    pgconn.send_prepare(name, text or _insert_sql(len(rows)))
            pgconn.send_query_prepared(lock, None)
            params = [_binary(v) for row in rows for v in row]
            params += [batch_id.bytes, source_kind.encode(), offered.to_bytes(4, "big"), nbytes.to_bytes(8, "big")]
            pgconn.send_query_prepared(insert, params, param_formats=[1] * len(params), result_format=1)
            pgconn.send_query_prepared(flag, [keys_json])
            pgconn.send_query_params(b"commit", None)
            pgconn.pipeline_sync()
            results = _exchange(pgconn)
        except BaseException:
            state.forget()
            _abandon(self.conn)
            raise
        pgconn.exit_pipeline_mode()
        prepares = [name for name, _ in statements if name not in state.names]
        failed = next((r for r in results if r.status == pq.ExecStatus.FATAL_ERROR), None)
        state.names.update(name for name, r in zip(prepares, results[1:], strict=False) if r.status in _OK)
        if failed is not None:
            self.conn.rollback()  # the explicit transaction is in error; psycopg sends ROLLBACK
            raise _error(failed)
        inserted = results[-3]    # the insert, before the flags and COMMIT (values in binary: text, text, bytea)
        keys = [(bytes(inserted.get_value(i, 0) or b"").decode(), bytes(inserted.get_value(i, 1) or b"").decode(),
                 bytes(inserted.get_value(i, 2) or b"")) for i in range(inserted.ntuples)]
        return keys, results[-2].ntuples


def _abandon(conn: psycopg.Connection) -> None:
    """After a failure inside the pipeline (a lost connection, an interrupt): leave the session in normal mode,
    or close it when results are still unread (a session stuck in pipeline mode must not be used again)."""
    try:
        if conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            conn.pgconn.exit_pipeline_mode()
    except psycopg.Error:
        conn.close()


def _exchange(pgconn: pq.abc.PGconn) -> list[pq.abc.PGresult]:
    """Send what is queued and collect the results up to the pipeline's sync (in order, aborted ones
    included). Reads while it writes, so neither side can fill its buffer and wait for the other. poll, not
    select: a listener with a thousand connections has descriptors above select's limit."""
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLOUT)
    while pgconn.flush():
        if any(event & select.POLLIN for _, event in poller.poll()):
            pgconn.consume_input()
    poller.modify(pgconn.socket, select.POLLIN)
    results: list[pq.abc.PGresult] = []
    while True:
        while pgconn.is_busy():
            poller.poll()
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            continue  # the end of one statement's results
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            return results
        results.append(result)


def _error(result: pq.abc.PGresult) -> psycopg.Error:
    """psycopg's exception class for the SQLSTATE, with no server text: even a primary message can quote a
    fragment of the value it refused (an invalid byte sequence, say)."""
    state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    try:
        cls = errors.lookup(state)
    except KeyError:
        cls = psycopg.DatabaseError
    return cls(f"landing batch refused by the server (SQLSTATE {state or 'unknown'})")

"""Group commit for the MLLP listener: one task lands what every connection received, a few ms at a time.

Connections ``submit`` parsed messages (or rejects) and await a future. The committer collects them for at
most ``window_s`` after the oldest pending one arrived (so what arrived during a flush goes with the next
one without waiting again) — less when ``max_batch`` items are waiting or when every
open connection already has a message waiting (stop-and-wait senders cannot add more) — then lands the
batch with one ``Lander.flush`` (one COPY, one commit, one fsync) on a dedicated database thread, and
resolves each future with ``landed``, ``duplicate``, ``rejected`` or ``failed``. When every open connection
is waiting for its ACK the event loop has nothing else to do, and the flush runs on the loop itself: that
saves the two thread hand-offs (about a sixth of a 16-message flush here). Reconnecting, and any batch while
some connection may still send, stay on the database thread. ``window_s = 0`` commits
each message alone (the benchmark's baseline).

Failures never turn into a positive ACK: a batch whose commit fails resolves ``failed`` (the sender gets
AE/CE and resends; landing dedups resends). A lost connection is reopened with exponential backoff, on the
next batch after the backoff has passed. A data error (say a NUL byte in a header field) is isolated by
retrying the batch one message at a time; the message that still fails is kept in landing.rejected with
rule ``landing.unstorable`` instead of blocking every batch it joins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import psycopg

from connectors.crypto import Fingerprinter, KeyRing, Sealer
from connectors.hl7.parse import Hl7Message
from connectors.landing import Lander, LandingCounts, batch_uuid, seal_hl7

log = logging.getLogger("wardflow.listener")
Result = Literal["landed", "duplicate", "rejected", "failed"]
SOURCE_KIND = "mllp"  # landing.*.source_kind of what the listener lands (rows sealed on the loop carry it too)
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The landing database cannot be used right now (the message names the error class, never data)."""


@dataclass(slots=True)
class _Item:
    conn_id: int
    future: asyncio.Future
    msg: Hl7Message | None = None
    reject: dict | None = None  # Lander.reject keyword arguments
    arrived: float = 0.0        # loop time of submit: the window counts from the oldest pending item
    sealed: tuple | None = None  # the message's landing row, sealed on the event loop at submit


@dataclass
class CommitStats:
    commits: int = 0            # successful flushes (transactions)
    inline_commits: int = 0     # of which run on the event loop (see the module docstring)
    committed_items: int = 0
    failed_items: int = 0       # resolved 'failed' (database unavailable or transient error)
    unstorable: int = 0         # data errors kept in landing.rejected
    flush_seconds: float = 0.0  # time spent in successful flushes (COPY, commit)
    counts: LandingCounts = field(default_factory=LandingCounts)

    @property
    def mean_batch_size(self) -> float:
        return round(self.committed_items / self.commits, 2) if self.commits else 0.0

    @property
    def mean_commit_ms(self) -> float:
        return round(self.flush_seconds / self.commits * 1000, 2) if self.commits else 0.0


class GroupCommitter:
    """Collects items from all connections and lands them in batches on one database thread."""

    def __init__(self, connect: Callable[[], psycopg.Connection], ring: KeyRing, *, window_s: float,
                 batch_id: Any, max_batch: int = 500, retry_initial_s: float = 0.2,
                 retry_max_s: float = 5.0) -> None:
        self.window_s = max(0.0, window_s)
        self.max_batch = max_batch if self.window_s > 0 else 1
        self.open_connections = 0   # maintained by the listener
        self.stats = CommitStats()
        self._connect, self._ring, self._batch_id = connect, ring, batch_id
        self._loop_sealer, self._loop_fingerprint = Sealer(ring), Fingerprinter(ring)
        self._row_batch = batch_uuid(batch_id)
        self._pending: list[_Item] = []
        self._waiting: dict[int, int] = {}  # conn_id → items pending for it
        self._everyone_waiting = False      # at the last collect: no open connection could send more
        self._calls = 0                     # call()s queued or running on the database thread
        self._wake = asyncio.Event()
        self._closing = self._stopped = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="wardflow-commit")
        # Database-thread state (only touched from the executor's single thread).
        self._conn: psycopg.Connection | None = None
        self._lander: Lander | None = None
        self._retry_initial, self._retry_max = retry_initial_s, retry_max_s
        self._backoff, self._next_attempt = retry_initial_s, 0.0
        self._down_since: float | None = None
        self._last_error = ""

    # -- event-loop side ---------------------------------------------------------------------------------
    def submit(self, conn_id: int, *, msg: Hl7Message | None = None, reject: dict | None = None) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._stopped:
            future.set_result("failed")
            return future
        # Sealed here, while the batch is still being collected, so the flush (which the senders wait for)
        # only copies and commits. The event loop has its own Sealer: the database thread has the Lander's.
        sealed = seal_hl7(msg, self._loop_sealer, self._loop_fingerprint, self._row_batch, SOURCE_KIND) if msg else None
        self._pending.append(_Item(conn_id, future, msg, reject, loop.time(), sealed))
        self._waiting[conn_id] = self._waiting.get(conn_id, 0) + 1
        self._wake.set()
        return future

    def close(self) -> None:
        """No more items will be submitted: ``run`` lands what is pending and returns."""
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while (batch := await self._collect(loop)) is not None:
                await self._commit(loop, batch)
        finally:
            self._stopped = True
            for item in self._pending:  # only when the loop died of an unexpected error
                if not item.future.done():
                    item.future.set_result("failed")
            self._pending.clear()

    async def call(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """Run ``fn(conn)`` on the database thread, between batches. Raises ``DatabaseUnavailable``."""
        self._calls += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._call_sync, fn)
        finally:
            self._calls -= 1

    async def dispose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=True)

    async def _collect(self, loop: asyncio.AbstractEventLoop) -> list[_Item] | None:
        while not self._pending:
            if self._closing:
                return None
            self._wake.clear()
            await self._wake.wait()
        if self.window_s > 0 and not self._ready():
            deadline = self._pending[0].arrived + self.window_s  # items that waited out a flush go at once
            timer = loop.call_at(deadline, self._wake.set)
            try:
                while not self._ready() and loop.time() < deadline - 1e-4:
                    self._wake.clear()
                    await self._wake.wait()
            finally:
                timer.cancel()
        self._everyone_waiting = len(self._waiting) >= self.open_connections
        batch = self._pending[:self.max_batch]
        del self._pending[:self.max_batch]
        for item in batch:
            left = self._waiting[item.conn_id] - 1
            if left:
                self._waiting[item.conn_id] = left
            else:
                del self._waiting[item.conn_id]
        return batch

    def _ready(self) -> bool:
        return (self._closing or len(self._pending) >= self.max_batch
                or len(self._waiting) >= self.open_connections)

    async def _commit(self, loop: asyncio.AbstractEventLoop, batch: list[_Item]) -> None:
        try:
            if self._inline():
                results = self._write(batch)
                self.stats.inline_commits += 1
            else:
                results = await loop.run_in_executor(self._executor, self._write, batch)
        except BaseException:
            for item in batch:
                if not item.future.done():
                    item.future.set_result("failed")
            raise
        for item, result in zip(batch, results, strict=True):
            if not item.future.done():  # a connection that went away cancelled its future
                item.future.set_result(result)

    def _inline(self) -> bool:
        """Flush on the event loop (see the module docstring): everyone waits, the session is open and the
        database thread is idle (its state is then the loop's to use; flushes never overlap)."""
        conn = self._conn
        return self._everyone_waiting and self._calls == 0 and conn is not None and not conn.closed \
            and not conn.broken

    # -- database thread (and the loop, when _inline) ----------------------------------------------------
    def _write(self, batch: list[_Item]) -> list[Result]:
        if not self._ensure_connection():
            self.stats.failed_items += len(batch)
            return ["failed"] * len(batch)
        try:
            return self._flush(batch)
        except psycopg.Error as exc:
            kind = self._classify(exc)
            if kind == "content" and len(batch) > 1:
                log.warning("batch of %d failed with %s; landing its messages one at a time", len(batch),
                            _describe(exc))
                return [r for item in batch for r in self._write([item])]
            if kind == "content":
                return [self._unstorable(batch[0], exc)]
            if kind == "transient":
                log.warning("landing commit failed (%s); senders get AE and resend", _describe(exc))
            self.stats.failed_items += len(batch)
            return ["failed"] * len(batch)

    def _flush(self, batch: list[_Item]) -> list[Result]:
        lander = self._lander
        assert lander is not None
        started = time.perf_counter()
        for item in batch:
            if item.msg is not None:
                lander.hl7(item.msg, item.sealed)
            else:
                lander.reject(**(item.reject or {}))
        counts, outcomes = lander.flush()
        self.stats.flush_seconds += time.perf_counter() - started
        self.stats.commits += 1
        self.stats.committed_items += len(batch)
        self.stats.counts.add(counts)
        return list(outcomes)

    def _unstorable(self, item: _Item, exc: psycopg.Error) -> Result:
        """Keep a message the landing table refuses (data error) in landing.rejected, encrypted."""
        raw = item.msg.raw if item.msg is not None else (item.reject or {}).get("data", b"")
        reject = {"format": "hl7v2", "rule": "landing.unstorable", "field_path": "message", "error_code": "207",
                  "reason": f"message could not be stored in landing.hl7_messages ({_describe(exc)}; "
                            "rule landing.unstorable)", "data": raw}
        if item.reject is not None or not self._ensure_connection():
            self.stats.failed_items += 1
            return "failed"
        try:
            self._flush([_Item(item.conn_id, item.future, None, reject)])
        except psycopg.Error as again:
            self._classify(again)
            self.stats.failed_items += 1
            return "failed"
        self.stats.unstorable += 1
        return "rejected"

    def _classify(self, exc: psycopg.Error) -> str:
        """'connection' (reopen), 'content' (isolate the message) or 'transient' (fail, keep the session).
        The Lander has rolled back and kept its buffer: it is replaced so that nothing is landed twice."""
        conn = self._conn
        self._lander = Lander(conn, self._ring, source_kind=SOURCE_KIND, batch_id=self._batch_id) if conn else None
        state = getattr(exc, "sqlstate", None) or ""
        if conn is None or conn.closed or conn.broken or isinstance(exc, psycopg.OperationalError) \
                or state.startswith("08"):
            self._drop(exc)
            return "connection"
        if isinstance(exc, psycopg.DataError | psycopg.IntegrityError) or state[:2] in ("22", "23"):
            return "content"
        return "transient"

    def _ensure_connection(self) -> bool:
        if self._conn is not None and not self._conn.closed:
            return True
        now = time.monotonic()
        if now < self._next_attempt:
            return False
        try:
            conn = self._connect()
        except (psycopg.Error, RuntimeError, OSError) as exc:  # database.DatabaseError is a RuntimeError
            self._last_error = _describe(exc)
            if self._down_since is None:
                self._down_since = now
                log.warning("database unavailable (%s); NAKing with AE until it returns", _describe(exc))
            self._next_attempt = now + self._backoff
            self._backoff = min(self._backoff * 2, self._retry_max)
            return False
        if self._down_since is not None:
            log.info("database reachable again after %.1f s", now - self._down_since)
        self._conn, self._down_since = conn, None
        self._lander = Lander(conn, self._ring, source_kind=SOURCE_KIND, batch_id=self._batch_id)
        self._backoff, self._next_attempt = self._retry_initial, 0.0
        return True

    def _drop(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("database connection lost (%s); NAKing with AE until it returns", _describe(exc))
        self._close_connection()
        self._next_attempt = 0.0  # try again at once: a restarted server is back quickly

    def _close_connection(self) -> None:
        conn, self._conn, self._lander = self._conn, None, None
        if conn is not None:
            conn.close()

    def _call_sync(self, fn: Callable[[psycopg.Connection], T]) -> T:
        if not self._ensure_connection():
            raise DatabaseUnavailable(f"landing database unavailable ({self._last_error or 'retrying later'})")
        assert self._conn is not None
        try:
            return fn(self._conn)
        except psycopg.Error as exc:
            if not self._conn.closed and not self._conn.broken:
                self._conn.rollback()
            self._classify(exc)
            raise DatabaseUnavailable(f"database call failed ({_describe(exc)})") from None


def _describe(exc: BaseException) -> str:
    """Error class and SQLSTATE only: server messages can quote values (a unique key, a bad literal)."""
    state = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}{' ' + state if state else ''}"

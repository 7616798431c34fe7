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
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import psycopg

from connectors.crypto import Fingerprinter, KeyRing, Sealer
from connectors.hl7.episode import FailureEpisode
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
    session_resets: int = 0     # landing sessions discarded after a failure that was not about the content
    degraded: int = 0           # times the wedge detector rebuilt the database side (listener.degraded)
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
                 retry_max_s: float = 5.0, wedge_after_s: float = 10.0) -> None:
        self.window_s = max(0.0, window_s)
        self.max_batch = max_batch if self.window_s > 0 else 1
        self.open_connections = 0   # maintained by the listener
        self.stats = CommitStats()
        self._connect, self._ring, self._batch_id = connect, ring, batch_id
        self._loop_sealer, self._loop_fingerprint = Sealer(ring), Fingerprinter(ring)
        self.row_batch = batch_uuid(batch_id)
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
        self.wedge_after_s = wedge_after_s
        self._episode = FailureEpisode()

    # -- event-loop side ---------------------------------------------------------------------------------
    @property
    def ring(self) -> KeyRing:
        return self._ring

    def submit(self, conn_id: int, *, msg: Hl7Message | None = None, reject: dict | None = None,
               sealed: tuple | None = None) -> asyncio.Future:
        """Queue a message (or a reject) for the next flush. ``sealed``: its landing row, made beforehand by
        ``seal_hl7`` with ``row_batch`` (large frames are sealed off the loop)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._stopped:
            future.set_result("failed")
            return future
        # Sealed here, while the batch is still being collected, so the flush (which the senders wait for)
        # only copies and commits. The event loop has its own Sealer: the database thread has the Lander's.
        if msg is not None and sealed is None:
            sealed = seal_hl7(msg, self._loop_sealer, self._loop_fingerprint, self.row_batch, SOURCE_KIND)
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
            results = None
            if self._inline():
                try:
                    results = self._write(batch, inline=True)
                    self.stats.inline_commits += 1
                except _OffLoop:
                    pass  # the session failed: reconnect and retry on the database thread
            if results is None:
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
    def _write(self, batch: list[_Item], *, inline: bool = False) -> list[Result]:
        """Land a batch: on a failure of the session (anything but the content), once more on a fresh one; a
        content error is narrowed down by halving the batch until the message the table refuses is alone."""
        try:
            results = self._land(batch, inline=inline)
        except _ContentRefused as refused:
            if len(batch) == 1:
                return [self._unstorable(batch[0], refused.cause)]
            log.info("batch of %d refused by the landing table (%s); narrowing it down", len(batch),
                     _describe(refused.cause))
            half = len(batch) // 2
            return self._write(batch[:half], inline=inline) + self._write(batch[half:], inline=inline)
        except _Unavailable as down:
            self._failed(down.cause, len(batch))
            return ["failed"] * len(batch)
        self._episode.succeeded(len(batch))
        return results

    def _land(self, batch: list[_Item], *, inline: bool) -> list[Result]:
        """One flush, retried once on a new session after a session failure (landing dedups, so a batch the
        server committed before the failure is found as duplicates). Raises _ContentRefused, _Unavailable,
        or _OffLoop when on the event loop (reconnecting could block it)."""
        cause: BaseException | None = None
        for _attempt in range(2):
            if not self._ensure_connection():
                raise _Unavailable(cause or DatabaseUnavailable(self._last_error or "unavailable"))
            try:
                return self._flush(batch)
            except psycopg.Error as exc:
                cause = exc
                self._reset_lander()
                if _is_content(exc):
                    raise _ContentRefused(exc) from None
                self._discard_session(exc)
                if inline:
                    raise _OffLoop() from None
        raise _Unavailable(cause)

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

    def _unstorable(self, item: _Item, exc: BaseException) -> Result:
        """Keep a message the landing table refuses (data error) in landing.rejected, encrypted."""
        raw = item.msg.raw if item.msg is not None else (item.reject or {}).get("data", b"")
        reject = {"format": "hl7v2", "rule": "landing.unstorable", "field_path": "message", "error_code": "207",
                  "reason": f"message could not be stored in landing.hl7_messages ({_describe(exc)}; "
                            "rule landing.unstorable)", "data": raw}
        if item.reject is not None:
            self.stats.failed_items += 1
            return "failed"
        try:
            self._land([_Item(item.conn_id, item.future, None, reject)], inline=False)
        except (_ContentRefused, _Unavailable, _OffLoop) as failure:
            self._failed(getattr(failure, "cause", None) or exc, 1)
            return "failed"
        self.stats.unstorable += 1
        return "rejected"

    def _reset_lander(self) -> None:
        """The Lander has rolled back and kept its buffer: replace it so that nothing is landed twice."""
        conn = self._conn
        self._lander = Lander(conn, self._ring, source_kind=SOURCE_KIND, batch_id=self._batch_id) \
            if conn is not None and not conn.closed else None

    def _discard_session(self, exc: BaseException) -> None:
        """Any failure that is not about the content: the session and everything cached on it go, and the
        next flush opens a new one at once (a failed-transaction state, lost prepared statements, a
        terminated backend or a changed setting cannot outlive it)."""
        self.stats.session_resets += 1
        log.debug("landing session discarded after %s", _describe(exc))
        self._close_connection()
        self._next_attempt = 0.0

    def _failed(self, exc: BaseException, items: int) -> None:
        """A batch NAKed: counted, logged once per episode (then a summary every few seconds), and the
        wedge detector consulted."""
        self.stats.failed_items += items
        note = self._episode.failed(_describe(exc), items)
        if note:
            log.warning("%s; senders get AE and resend", note)
        if self._episode.wedged(self.wedge_after_s):
            self._rebuild_if_database_answers()

    def _rebuild_if_database_answers(self) -> None:
        """Flushes have failed for wedge_after_s: if a new session answers a probe, the database is up and
        the listener's own side is at fault. Rebuild it, say so once per episode, audit listener.degraded."""
        try:
            probe = self._connect()
            probe.execute("select 1")
            probe.rollback()
        except (psycopg.Error, RuntimeError, OSError):
            self._episode.probed(database_up=False)
            return  # a real outage: AE until the database returns
        episode = self._episode.probed(database_up=True)
        self.stats.degraded += 1
        if episode.first_rebuild:
            log.warning("landing has failed for %.0f s (%d flushes, last %s) while the database answers; "
                        "listener rebuilt its database side", episode.seconds, episode.failures, episode.last)
        try:
            with probe.transaction():
                probe.execute("select audit.record('listener.degraded', 'mllp', %s::jsonb)", (json.dumps({
                    "failing_seconds": round(episode.seconds, 1), "failed_flushes": episode.failures,
                    "failed_messages": episode.items, "last_error": episode.last, "rebuilds": episode.rebuilds}),))
        except psycopg.Error as exc:
            log.warning("listener.degraded not audited (%s)", _describe(exc))
            probe.close()
            return
        self._close_connection()
        self._conn, self._down_since = probe, None
        self._reset_lander()

    def _ensure_connection(self) -> bool:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
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
            self._reset_lander()
            self._discard_session(exc)
            raise DatabaseUnavailable(f"database call failed ({_describe(exc)})") from None


class _ContentRefused(Exception):
    """The landing table refused something in the batch (a data error): isolate it."""

    def __init__(self, cause: BaseException) -> None:
        self.cause = cause


class _Unavailable(Exception):
    """The batch could not be landed now (the database is down, or failed twice on fresh sessions)."""

    def __init__(self, cause: BaseException | None) -> None:
        self.cause = cause or DatabaseUnavailable("unavailable")


class _OffLoop(Exception):
    """A session failed during a flush on the event loop: the retry goes to the database thread."""


# SQLSTATE classes that are about what was sent, not the session: data exception, integrity constraint
# violation, program limit exceeded (an index row too large for a key, a value too long for a column).
_CONTENT_CLASSES = ("22", "23", "54")


def _is_content(exc: psycopg.Error) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return state[:2] in _CONTENT_CLASSES


def _describe(exc: BaseException) -> str:
    """Error class and SQLSTATE only: server messages can quote values (a unique key, a bad literal)."""
    state = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}{' ' + state if state else ''}"

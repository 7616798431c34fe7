"""What the MLLP listener needs around its connections: options, stats, and the database side of a run.

``Runtime`` opens the landing database as the pipeline role (keys as libpq options, never in SQL text),
checks that it was initialised, runs the group committer, writes the rate-limited
``listener.refused`` audit events once a second, and at the end lands what is pending, audits
``listener.stopped`` with the stats and closes the run's ``landing.ingest_batches`` row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from connectors import auditlog
from connectors.crypto import KeyRing, load_keyring
from connectors.hl7.commit import DatabaseUnavailable, GroupCommitter
from connectors.hl7.limits import RefusalEvent, RefusalLog
from connectors.hl7.registry import Device, check_registry, lookup
from connectors.hl7.tls import ListenerConfigError, check_transport, server_context
from connectors.settings import Settings, session_options

log = logging.getLogger("wardflow.listener")
STATEMENT_TIMEOUT_MS = 15_000
AUDIT_TICK_S = 1.0


@dataclass(frozen=True)
class ListenerConfig:
    """Options of one listener process (the CLI flags of ``wardflow listen``)."""

    host: str = "127.0.0.1"
    port: int = 2575
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    allow_plaintext: bool = False
    max_message_size: int = 10 * 1024 * 1024
    # Per client (address, or certificate under mutual TLS); None or 0: unlimited. An interface engine
    # forwards a whole ward over a few connections from one address: 64 leaves it room, a runaway opener not.
    max_connections_per_client: int | None = 64
    # Per sender (certificate, else address + MSH-3 + MSH-4). Off by default: a busy interface engine
    # catching up after an outage must not be throttled into one; set it for senders you do not trust.
    max_messages_per_second_per_client: float | None = None
    group_commit_ms: float = 5.0                     # 0: one commit per message
    max_batch: int = 500
    shutdown_timeout_s: float = 30.0
    audit_interval_s: float = 60.0
    db_retry_max_s: float = 5.0
    connect_timeout_s: int = 5
    frame_timeout_s: float = 30.0                    # a started frame must end within this; 0: never
    idle_timeout_s: float = 900.0                    # no complete frame for this long closes; 0: never
    max_buffered_bytes: int = 256 * 1024 * 1024      # partial frames of all connections together; 0: no cap
    offload_frame_bytes: int = 64 * 1024             # larger frames are parsed off the event loop
    wedge_after_s: float = 10.0                      # flushes failing this long with the database up: rebuild

    def validate(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ListenerConfigError("--tls-cert and --tls-key go together")
        if self.client_ca is not None and self.tls_cert is None:
            raise ListenerConfigError("--client-ca needs --tls-cert and --tls-key")
        if self.max_message_size < 1 or self.group_commit_ms < 0 or self.max_batch < 1:
            raise ListenerConfigError("max_message_size and max_batch must be positive, group_commit_ms >= 0")
        if min(self.frame_timeout_s, self.idle_timeout_s, self.max_buffered_bytes, self.wedge_after_s) < 0:
            raise ListenerConfigError("timeouts, max_buffered_bytes and wedge_after_s must be >= 0")
        check_transport(self.host, self.tls_cert is not None, self.allow_plaintext)


@dataclass
class ListenerStats:
    """Counts of one listener run (messages, ACKs, bytes, commits); never content."""

    connections: int = 0
    refused_connections: int = 0
    received: int = 0            # complete frames
    landed: int = 0
    duplicates: int = 0          # resends: ACKed positively, not landed twice
    rejected: int = 0            # kept in landing.rejected, NAKed
    refused_messages: int = 0    # over the client's message rate, NAKed (AE), not landed
    acks: int = 0                # positive ACK messages sent (AA/CA)
    naks: int = 0                # negative ACK messages sent (AE/AR/CE/CR)
    oversize: int = 0
    incomplete_frames: int = 0   # connections that ended inside a frame
    bytes_received: int = 0
    bytes_discarded: int = 0
    commits: int = 0
    inline_commits: int = 0      # flushes run on the event loop (every connection was waiting for its ACK)
    mean_batch_size: float = 0.0
    mean_commit_ms: float = 0.0  # one flush: COPY, insert, commit (fsync)
    commit_failures: int = 0     # messages NAKed because their commit failed
    session_resets: int = 0      # landing sessions replaced after a failure that was not about the content
    degraded: int = 0            # wedge detector rebuilds (audited listener.degraded)
    frame_timeouts: int = 0      # connections closed inside a frame that took too long (slow bytes)
    idle_timeouts: int = 0       # connections closed after idle_timeout_s without a message
    buffer_cap_closes: int = 0   # connections closed because partial frames of all passed max_buffered_bytes
    offloaded_frames: int = 0    # frames parsed off the event loop
    unstorable: int = 0
    control_ids_reused: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class Runtime:
    def __init__(self, settings: Settings, config: ListenerConfig, keyring: KeyRing | None) -> None:
        config.validate()
        self.settings, self.config, self.keyring = settings, config, keyring
        self.ssl_context = server_context(config.tls_cert, config.tls_key, config.client_ca) \
            if config.tls_cert is not None and config.tls_key is not None else None
        self.batch_id = uuid.uuid4()
        self.committer: GroupCommitter | None = None
        self.committer_task: asyncio.Task = None  # type: ignore[assignment]
        self._ticker: asyncio.Task | None = None
        self._refusals: RefusalLog | None = None
        self._devices: dict[str, Device] = {}  # last known active devices, used while the database is down
        self._started = time.monotonic()

    async def start(self, refusals: RefusalLog) -> GroupCommitter:
        connect = await asyncio.to_thread(self._connector)
        ring = self.keyring
        assert ring is not None
        committer = GroupCommitter(connect, ring, window_s=self.config.group_commit_ms / 1000,
                                   batch_id=self.batch_id, max_batch=self.config.max_batch,
                                   retry_max_s=self.config.db_retry_max_s, wedge_after_s=self.config.wedge_after_s)
        try:
            await committer.call(check_registry)
        except DatabaseUnavailable:
            await committer.dispose()
            raise
        self.committer, self._refusals = committer, refusals
        self.committer_task = asyncio.create_task(committer.run(), name="wardflow-committer")
        self._ticker = asyncio.create_task(self._audit_loop(), name="wardflow-audit")
        return committer

    def _connector(self) -> Callable[[], psycopg.Connection]:
        """A function opening an ingest session for the committer (blocking: may start the embedded cluster)."""
        from orchestration.warehouse.database import role_params

        if self.keyring is None:
            self.keyring = load_keyring(self.settings)
        params = role_params(self.settings, "ingest")
        # A flush can run on the event loop (commit.py): a dead network or a stuck lock must end in an error
        # within seconds, not freeze the listener. tcp_user_timeout bounds unacknowledged sends, keepalives a
        # silent peer, statement_timeout a statement that waits.
        params.update(options=session_options(self.keyring.pg_options(), self.keyring.audit_options(),
                                              f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"),
                      application_name="wardflow-listener", connect_timeout=str(self.config.connect_timeout_s),
                      tcp_user_timeout=str(STATEMENT_TIMEOUT_MS), keepalives="1", keepalives_idle="10",
                      keepalives_interval="5", keepalives_count="3")
        conninfo = make_conninfo(**params)
        return lambda: psycopg.connect(conninfo)

    async def started(self, address: tuple[str, int]) -> None:
        details = {"host": address[0], "port": address[1], "tls": self.ssl_context is not None,
                   "mutual_tls": self.config.client_ca is not None, "group_commit_ms": self.config.group_commit_ms,
                   "batch_id": str(self.batch_id)}
        log.info("listening on %s:%d (tls=%s, mutual_tls=%s, group_commit_ms=%s)", address[0], address[1],
                 details["tls"], details["mutual_tls"], self.config.group_commit_ms)
        await self._audit([("listener.started", details)])

    async def device(self, fingerprint: str) -> tuple[Device | None, str]:
        """The active device of a certificate, or (None, reason)."""
        assert self.committer is not None
        try:
            device = await self.committer.call(lambda conn: lookup(conn, fingerprint))
        except DatabaseUnavailable:
            cached = self._devices.get(fingerprint)
            return (cached, "") if cached else (None, "registry_unavailable")
        if device is None or not device.active:
            self._devices.pop(fingerprint, None)
            return None, "unknown_certificate" if device is None else "inactive_certificate"
        self._devices[fingerprint] = device
        return device, ""

    async def stop(self, stats: ListenerStats) -> ListenerStats:
        """Land what is pending, write the last audit events, close the database session."""
        committer = self.committer
        assert committer is not None
        committer.close()
        try:
            await self.committer_task
        finally:
            if self._ticker is not None:
                self._ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._ticker
            self._fill(stats, committer)
            await self._write_refusals(everything=True)
            await self._audit([("listener.stopped", stats.as_dict())], close_batch=stats.connections)
            await committer.dispose()
            log.info("listener stopped: %s", json.dumps(stats.as_dict()))
        return stats

    def _fill(self, stats: ListenerStats, committer: GroupCommitter) -> None:
        c = committer.stats
        stats.commits, stats.mean_batch_size, stats.commit_failures = c.commits, c.mean_batch_size, c.failed_items
        stats.inline_commits = c.inline_commits
        stats.mean_commit_ms = c.mean_commit_ms
        stats.unstorable, stats.control_ids_reused = c.unstorable, c.counts.control_ids_reused
        stats.session_resets, stats.degraded = c.session_resets, c.degraded
        stats.seconds = round(time.monotonic() - self._started, 3)

    async def _audit_loop(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_TICK_S)
            await self._write_refusals()

    async def _write_refusals(self, *, everything: bool = False) -> None:
        assert self._refusals is not None
        events = self._refusals.due(everything=everything)
        if not events:
            return
        for e in events:
            log.warning("refused %d time(s) (%s): %s", e.count, e.reason, e.client)
        if not await self._audit([("listener.refused", self._refusal_details(e)) for e in events]):
            self._refusals.put_back(events)

    def _refusal_details(self, event: RefusalEvent) -> dict:
        kind, _, ident = event.client.partition(":")
        return {"fingerprint" if kind == "cert" else "peer": ident, "reason": event.reason, "count": event.count,
                "window_s": self.config.audit_interval_s}

    async def _audit(self, events: list[tuple[str, dict]], close_batch: int | None = None) -> bool:
        """Write audit events (and close the run's batch row); False when the database is unavailable."""
        def write(conn: psycopg.Connection) -> None:
            with conn.transaction():
                for action, details in events:
                    conn.execute("select audit.record(%s, 'mllp', %s::jsonb)", (action, json.dumps(details)))
                if close_batch is not None:
                    conn.execute("update landing.ingest_batches set inputs = inputs + %s, finished_at = now() "
                                 "where batch_id = %s", (close_batch, self.batch_id))

        assert self.committer is not None
        try:
            await self.committer.call(write)
            await self.committer.call(lambda conn: auditlog.anchor(self.settings, conn))
        except DatabaseUnavailable as exc:
            log.warning("audit events not written yet (%s)", exc)
            return False
        return True

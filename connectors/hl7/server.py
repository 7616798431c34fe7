"""MLLP connections: frames in, parsed messages to the group committer, ACKs out after the commit.

Each connection reads whatever arrives (``MllpDecoder`` reassembles frames split across reads or packed
several to a read), parses each message, hands it to the committer (``commit.py``) and sends the ACK only
after the commit that holds it; ACKs of one connection go out in the order its messages came. Which ACK
is decided in ``replies.py``. Entry points (``serve``, ``run_listener``) are in ``listener.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime

from connectors.hl7.ack import Outcome
from connectors.hl7.commit import GroupCommitter
from connectors.hl7.framing import Frame, MllpDecoder, Oversize, frame
from connectors.hl7.limits import ClientLimits, RefusalLog
from connectors.hl7.parse import Hl7Message, Hl7ParseError, parse_message
from connectors.hl7.registry import Device
from connectors.hl7.replies import (
    COMMIT_FAILED,
    FRAME_TOO_LONG,
    RATE_LIMITED,
    SENDER_NOT_ALLOWED,
    UNSTORABLE,
    ControlIds,
    is_positive,
    parse_outcome,
    replies,
)
from connectors.hl7.runtime import ListenerConfig, ListenerStats, Runtime
from connectors.hl7.tls import ListenerConfigError, fingerprint_der
from connectors.settings import Settings

log = logging.getLogger("wardflow.listener")
READ_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class _Client:
    key: str                   # "ip:<address>" or "cert:<sha256>": the unit of the per-client limits
    device: Device | None = None


@dataclass(slots=True)
class _Pending:
    """One received message waiting for its ACK: the commit future, or a fixed outcome."""

    msg: Hl7Message | None
    future: asyncio.Future | None
    outcome: Outcome
    error: Hl7ParseError | None
    raw: bytes = b""


@dataclass
class _Connection:
    task: asyncio.Task
    busy: bool = False


class MllpListener:
    """The server: accepts connections, answers frames, and owns the committer and the refusal log."""

    def __init__(self, settings: Settings, config: ListenerConfig, *, keyring=None) -> None:
        self.config = config
        self.stats = ListenerStats()
        self.runtime = Runtime(settings, config, keyring)
        self.limits = ClientLimits(config.max_connections_per_client, config.max_messages_per_second_per_client)
        self.refusals = RefusalLog(config.audit_interval_s)
        self.control_ids = ControlIds()
        self.committer: GroupCommitter | None = None
        self.address: tuple[str, int] = (config.host, config.port)
        self._server: asyncio.Server | None = None
        self._connections: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._closing = False

    async def start(self) -> None:
        self.committer = await self.runtime.start(self.refusals)
        try:
            self._server = await asyncio.start_server(
                self._handle, self.config.host, self.config.port, ssl=self.runtime.ssl_context, backlog=1024,
                ssl_handshake_timeout=10 if self.runtime.ssl_context else None)
        except OSError as exc:
            await self.runtime.stop(self.stats)
            raise ListenerConfigError(f"cannot listen on {self.config.host}:{self.config.port} "
                                      f"({exc.strerror or type(exc).__name__})") from None
        self.address = self._server.sockets[0].getsockname()[:2]
        await self.runtime.started(self.address)

    async def stop(self) -> ListenerStats:
        """Stop accepting, finish what is in flight, land it, and return the stats."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections.values()):
            if not conn.busy:
                conn.task.cancel()  # idle in read(): nothing of it is waiting for an ACK
        tasks = [c.task for c in self._connections.values()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.config.shutdown_timeout_s)
            for task in late:  # a peer that stopped reading its ACKs
                task.cancel()
            await asyncio.wait(tasks)
        return await self.runtime.stop(self.stats)

    @property
    def committer_task(self) -> asyncio.Task:
        return self.runtime.committer_task

    # -- one connection ----------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn_id = next(self._ids)
        client = await self._admit(conn_id, writer)
        if client is None:
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None and self.committer is not None
        state = self._connections[conn_id] = _Connection(task)
        self.committer.open_connections += 1
        self.stats.connections += 1
        decoder = MllpDecoder(self.config.max_message_size)
        log.debug("connection %d opened", conn_id)
        try:
            while not self._closing:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                state.busy = True
                self.stats.bytes_received += len(data)
                events = decoder.feed(data)
                if events and not await self._answer(conn_id, client, events, writer):
                    break
                state.busy = False
        except (ConnectionError, TimeoutError, ssl.SSLError) as exc:
            log.info("connection %d ended by the peer (%s)", conn_id, type(exc).__name__)
        finally:
            self.committer.open_connections -= 1
            del self._connections[conn_id]
            self.limits.close(client.key)
            self.stats.bytes_discarded += decoder.discarded_bytes + decoder.buffered
            self.stats.incomplete_frames += 1 if decoder.buffered else 0
            writer.close()
            log.debug("connection %d closed (%d bytes discarded)", conn_id, decoder.discarded_bytes)

    async def _admit(self, conn_id: int, writer: asyncio.StreamWriter) -> _Client | None:
        """The client behind a new connection, or None when it is refused (counted and audited)."""
        if self._closing:
            return None
        client = _Client("ip:" + str((writer.get_extra_info("peername") or ("unknown",))[0]))
        if self.config.client_ca is not None:
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            if not der:
                return self._refuse(conn_id, client.key, "no_certificate")
            fp = fingerprint_der(der)
            device, reason = await self.runtime.device(fp)
            if device is None:
                return self._refuse(conn_id, "cert:" + fp, reason)
            client = _Client("cert:" + fp, device)
        if not self.limits.open(client.key):
            return self._refuse(conn_id, client.key, "too_many_connections")
        return client

    def _refuse(self, conn_id: int, client: str, reason: str) -> _Client | None:
        self.stats.refused_connections += 1
        self.refusals.note(client, reason)
        log.debug("connection %d refused (%s)", conn_id, reason)
        return None

    async def _answer(self, conn_id: int, client: _Client, events: list[Frame | Oversize],
                      writer: asyncio.StreamWriter) -> bool:
        """Submit every frame of one read, then send their ACKs in order. False: close the connection."""
        pending: list[_Pending] = []
        keep_open = True
        for event in events:
            if isinstance(event, Oversize):
                self.stats.oversize += 1
                log.warning("connection %d: frame over %d bytes refused; closing", conn_id,
                            self.config.max_message_size)
                pending.append(_Pending(None, None, "reject", FRAME_TOO_LONG))
                keep_open = False
                break
            self.stats.received += 1
            pending.append(self._submit(conn_id, client, event.payload))
        for item in pending:
            outcome, error = await self._outcome(item)
            now = datetime.now().astimezone()
            for ack in replies(item.msg, outcome, error=error, control_ids=self.control_ids, now=now,
                               raw=item.raw):
                writer.write(frame(ack))
                if is_positive(ack):
                    self.stats.acks += 1
                else:
                    self.stats.naks += 1
        await writer.drain()
        return keep_open

    def _submit(self, conn_id: int, client: _Client, raw: bytes) -> _Pending:
        assert self.committer is not None
        try:
            msg = parse_message(raw)
        except Exception as exc:  # a parser bug must not lose the message: it is kept as a reject
            err = exc if isinstance(exc, Hl7ParseError) else _parser_failure(conn_id, exc)
            if not self.limits.allow_message(client.key):
                return self._rate_limited(client, None, raw)
            reject = {"format": "hl7v2", "rule": err.rule, "field_path": err.field_path,
                      "error_code": str(err.code), "reason": str(err), "data": raw}
            return _Pending(None, self.committer.submit(conn_id, reject=reject), parse_outcome(err), err, raw)
        if not self.limits.allow_message(client.key):
            return self._rate_limited(client, msg, raw)
        device = client.device
        if device is not None and not device.allows_sender(msg.sending_application, msg.sending_facility):
            reject = {"format": "hl7v2", "rule": SENDER_NOT_ALLOWED.rule, "field_path": "MSH-3",
                      "error_code": "207", "data": raw,
                      "reason": "MSH-3/MSH-4 is not the sender registered for the client certificate "
                                "(rule mllp.sender_not_registered)"}
            return _Pending(msg, self.committer.submit(conn_id, reject=reject), "reject", SENDER_NOT_ALLOWED)
        return _Pending(msg, self.committer.submit(conn_id, msg=msg), "accept", None)

    def _rate_limited(self, client: _Client, msg: Hl7Message | None, raw: bytes) -> _Pending:
        self.stats.refused_messages += 1
        self.refusals.note(client.key, "rate_limited")
        return _Pending(msg, None, "error", RATE_LIMITED, raw)

    async def _outcome(self, item: _Pending) -> tuple[Outcome, Hl7ParseError | None]:
        if item.future is None:
            return item.outcome, item.error
        result = await item.future
        if result == "failed":
            return "error", COMMIT_FAILED
        if result == "landed" or result == "duplicate":
            if result == "landed":
                self.stats.landed += 1
            else:
                self.stats.duplicates += 1
            return "accept", None
        self.stats.rejected += 1
        if item.error is None:  # a parsed message the landing table refused (data error), kept as a reject
            return "reject", UNSTORABLE
        return item.outcome, item.error


def _parser_failure(conn_id: int, exc: Exception) -> Hl7ParseError:
    log.error("connection %d: parser failed with %s (a bug: the message is kept in landing.rejected)", conn_id,
              type(exc).__name__)
    return Hl7ParseError(207, "parser.internal_error", "message")

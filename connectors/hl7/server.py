"""MLLP connections: frames in, parsed messages to the group committer, ACKs out after the commit.

Each connection reads whatever arrives (``MllpDecoder`` reassembles frames split across reads or packed
several to a read), parses each message, hands it to the committer (``commit.py``) and sends the ACK only
after the commit that holds it; ACKs of one connection go out in the order its messages came. Which ACK
is decided in ``replies.py``. Entry points (``serve``, ``run_listener``) are in ``listener.py``.

One sender cannot hurt the others: a frame must be complete within ``frame_timeout_s`` of its start block
(slow bytes), a connection with no complete frame for ``idle_timeout_s`` is closed, the partial frames of
all connections together may hold at most ``max_buffered_bytes`` (the connection that would pass it is
closed), and frames over ``offload_frame_bytes`` are parsed and sealed on a thread of their own, so that the
event loop keeps answering the others.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from connectors.crypto import Fingerprinter, Sealer
from connectors.hl7.ack import Outcome
from connectors.hl7.commit import SOURCE_KIND, GroupCommitter
from connectors.hl7.framing import Frame, MllpDecoder, Oversize, frame
from connectors.hl7.limits import ClientLimits, RefusalLog
from connectors.hl7.memory import Trimmer, fix_mmap_threshold
from connectors.hl7.parse import Hl7Message, Hl7ParseError, parse_message
from connectors.hl7.registry import Device
from connectors.hl7.replies import (
    COMMIT_FAILED,
    FRAME_TOO_LONG,
    SENDER_NOT_ALLOWED,
    UNSTORABLE,
    ControlIds,
    is_positive,
    parse_outcome,
    rate_limited,
    replies,
)
from connectors.hl7.runtime import ListenerConfig, ListenerStats, Runtime
from connectors.hl7.tls import ListenerConfigError, fingerprint_der
from connectors.landing import seal_hl7
from connectors.settings import Settings

log = logging.getLogger("wardflow.listener")
READ_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class _Client:
    key: str                   # "ip:<address>" or "cert:<sha256>": the unit of the connection limit
    device: Device | None = None

    def sender(self, msg: Hl7Message | None) -> str:
        """The unit of the message rate: the certificate, else the address with MSH-3 and MSH-4."""
        if self.device is not None or msg is None:
            return self.key
        return f"{self.key}|{msg.sending_application}|{msg.sending_facility}"


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
    buffered: int = 0          # bytes of its partial frame, counted in the listener's total


class _Offload:
    """Parsing and sealing of large frames on a thread of its own (its own Sealer: they are per thread)."""

    def __init__(self, committer: GroupCommitter) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="wardflow-parse")
        self._sealer, self._fingerprint = Sealer(committer.ring), Fingerprinter(committer.ring)
        self._batch = committer.row_batch

    def _work(self, raw: bytes) -> tuple[Hl7Message | None, tuple | None, BaseException | None]:
        try:
            msg = parse_message(raw)
        except Exception as exc:  # noqa: BLE001 - handed back to the loop, which keeps it as a reject
            return None, None, exc
        return msg, seal_hl7(msg, self._sealer, self._fingerprint, self._batch, SOURCE_KIND), None

    async def parse(self, raw: bytes) -> tuple[Hl7Message | None, tuple | None, BaseException | None]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._work, raw)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


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
        self._buffered = 0          # partial-frame bytes of all connections
        self._trimmer = Trimmer()
        self._offload: _Offload | None = None

    async def start(self) -> None:
        fix_mmap_threshold()
        self.committer = await self.runtime.start(self.refusals)
        self._offload = _Offload(self.committer)
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
        if self._offload is not None:
            self._offload.close()
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
            await self._serve(conn_id, client, state, decoder, reader, writer)
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("connection %d ended by the peer (%s)", conn_id, type(exc).__name__)
        finally:
            self.committer.open_connections -= 1
            del self._connections[conn_id]
            self.limits.close(client.key)
            self.stats.incomplete_frames += 1 if decoder.buffered else 0
            self._account(state, 0)
            decoder.release()
            self.stats.bytes_discarded += decoder.discarded_bytes
            writer.close()
            log.debug("connection %d closed (%d bytes discarded)", conn_id, decoder.discarded_bytes)

    async def _serve(self, conn_id: int, client: _Client, state: _Connection, decoder: MllpDecoder,
                     reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read, answer, repeat, until the peer leaves, a limit is passed or the listener stops."""
        last_frame = frame_started = time.monotonic()
        while not self._closing:
            timeout, kind = self._read_timeout(decoder, last_frame, frame_started)
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
            except TimeoutError:
                self._timed_out(conn_id, client, kind)
                return
            if not data:
                return
            was_in_frame = decoder.in_frame
            state.busy = True
            self.stats.bytes_received += len(data)
            events = decoder.feed(data)
            if events:
                last_frame = time.monotonic()
            if decoder.in_frame and (events or not was_in_frame):
                frame_started = time.monotonic()  # a new frame began in this read
            if not self._account(state, decoder.buffered):
                self.stats.buffer_cap_closes += 1
                self.refusals.note(client.key, "buffer_cap")
                log.warning("connection %d closed: partial frames of all connections over %d bytes", conn_id,
                            self.config.max_buffered_bytes)
                return
            if events and not await self._answer(conn_id, client, events, writer):
                return
            state.busy = False

    def _read_timeout(self, decoder: MllpDecoder, last_frame: float, frame_started: float) -> tuple[float | None, str]:
        now = time.monotonic()
        if decoder.in_frame and self.config.frame_timeout_s:
            return max(0.0, frame_started + self.config.frame_timeout_s - now), "frame_timeout"
        if self.config.idle_timeout_s:
            return max(0.0, last_frame + self.config.idle_timeout_s - now), "idle_timeout"
        return None, "idle_timeout"

    def _timed_out(self, conn_id: int, client: _Client, kind: str) -> None:
        if kind == "frame_timeout":  # slow or stalled bytes inside a frame: refused and audited
            self.stats.frame_timeouts += 1
            self.refusals.note(client.key, kind)
            log.info("connection %d closed: frame not complete within %g s", conn_id, self.config.frame_timeout_s)
        else:
            self.stats.idle_timeouts += 1
            log.debug("connection %d closed after %g s without a message", conn_id, self.config.idle_timeout_s)

    def _account(self, state: _Connection, buffered: int) -> bool:
        """Track this connection's partial-frame bytes in the total; False when the total passes the cap."""
        released = state.buffered - buffered
        self._buffered -= released
        state.buffered = buffered
        if released > 0:
            self._trimmer.released(released)
        cap = self.config.max_buffered_bytes
        return not cap or buffered == 0 or self._buffered <= cap

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
            pending.append(await self._submit(conn_id, client, event.payload))
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

    async def _submit(self, conn_id: int, client: _Client, raw: bytes) -> _Pending:
        assert self.committer is not None and self._offload is not None
        sealed = None
        if len(raw) > self.config.offload_frame_bytes:
            self.stats.offloaded_frames += 1
            msg, sealed, exc = await self._offload.parse(raw)
        else:
            msg, exc = self._parse(raw)
        if msg is None:  # a parser bug must not lose the message: it is kept as a reject
            err = exc if isinstance(exc, Hl7ParseError) else _parser_failure(conn_id, exc)
            if not self.limits.allow_message(client.sender(None)):
                return self._rate_limited(client, None, raw)
            reject = {"format": "hl7v2", "rule": err.rule, "field_path": err.field_path,
                      "error_code": str(err.code), "reason": str(err), "data": raw}
            return _Pending(None, self.committer.submit(conn_id, reject=reject), parse_outcome(err), err, raw)
        if not self.limits.allow_message(client.sender(msg)):
            return self._rate_limited(client, msg, raw)
        device = client.device
        if device is not None and not device.allows_sender(msg.sending_application, msg.sending_facility):
            reject = {"format": "hl7v2", "rule": SENDER_NOT_ALLOWED.rule, "field_path": "MSH-3",
                      "error_code": "207", "data": raw,
                      "reason": "MSH-3/MSH-4 is not the sender registered for the client certificate "
                                "(rule mllp.sender_not_registered)"}
            return _Pending(msg, self.committer.submit(conn_id, reject=reject), "reject", SENDER_NOT_ALLOWED)
        return _Pending(msg, self.committer.submit(conn_id, msg=msg, sealed=sealed), "accept", None)

    @staticmethod
    def _parse(raw: bytes) -> tuple[Hl7Message | None, BaseException | None]:
        try:
            return parse_message(raw), None
        except Exception as exc:  # noqa: BLE001 - kept as a reject by the caller
            return None, exc

    def _rate_limited(self, client: _Client, msg: Hl7Message | None, raw: bytes) -> _Pending:
        self.stats.refused_messages += 1
        self.refusals.note(client.key, "rate_limited")
        wait = self.limits.retry_after(client.sender(msg))
        return _Pending(msg, None, "error", rate_limited(wait), raw)

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


def _parser_failure(conn_id: int, exc: BaseException | None) -> Hl7ParseError:
    log.error("connection %d: parser failed with %s (a bug: the message is kept in landing.rejected)", conn_id,
              type(exc).__name__)
    return Hl7ParseError(207, "parser.internal_error", "message")

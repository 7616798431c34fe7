"""`wardflow listen`: the MLLP listener, a long-running asyncio process (DESIGN.md decision 9).

Each connection reads whatever arrives (``MllpDecoder`` reassembles frames split across reads or packed
several to a read), parses each message, hands it to the group committer (``commit.py``) and sends the
ACK only after the commit that holds the message; ACKs of one connection go out in the order its messages
came. Which ACK (AA/AE/AR, CA/CE/CR, application ACK after the commit ACK) is decided in ``replies.py``.

* Frame over ``max_message_size``: AR with ERR 104, then the connection is closed. Bytes outside frames
  and partial frames of a connection that ends are discarded and counted.
* TLS with ``tls_cert``/``tls_key``; with ``client_ca`` a client certificate is required and must be in
  ``landing.device_registry`` (active) — else the connection is closed and audited ``listener.refused``.
  Without TLS the listener binds to loopback only, unless ``allow_plaintext``.
* Per client (peer IP, or certificate under mutual TLS): at most ``max_connections_per_client``
  connections and ``max_messages_per_second_per_client`` messages (token bucket). Refusals are counted
  and audited at most once a minute per client and reason.
* Stop (SIGTERM/SIGINT in ``run_listener``): stop accepting, close idle connections, let busy ones finish
  and ACK what they received, land what is pending, audit ``listener.stopped`` with the stats, exit 0.
* Logs carry connection ids, sizes and counts, never message content.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from connectors.hl7.ack import Outcome
from connectors.hl7.commit import DatabaseUnavailable, GroupCommitter
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

__all__ = ["ListenerConfig", "ListenerConfigError", "ListenerStats", "MllpListener", "run_listener", "serve"]


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
        except Hl7ParseError as err:
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


async def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 2575, tls_cert: Path | None = None,
                tls_key: Path | None = None, client_ca: Path | None = None, allow_plaintext: bool = False,
                max_message_size: int = ListenerConfig.max_message_size,
                max_connections_per_client: int | None = ListenerConfig.max_connections_per_client,
                max_messages_per_second_per_client: float | None =
                ListenerConfig.max_messages_per_second_per_client,
                group_commit_ms: float = 5.0, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None, on_listening=None, keyring=None,
                **more) -> ListenerStats:
    """Run the listener until ``stop`` is set; returns the stats (also logged and audited).

    ``on_listening((host, port))`` is called once bound (``port=0`` picks a free port); ``ready`` is set
    then too. ``more`` takes the remaining ``ListenerConfig`` fields (max_batch, shutdown_timeout_s, …).
    Raises ``ListenerConfigError`` for unusable options and ``DatabaseUnavailable`` when the landing
    database cannot be reached at startup.
    """
    config = ListenerConfig(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, client_ca=client_ca,
                            allow_plaintext=allow_plaintext, max_message_size=max_message_size,
                            max_connections_per_client=max_connections_per_client,
                            max_messages_per_second_per_client=max_messages_per_second_per_client,
                            group_commit_ms=group_commit_ms, **more)
    listener = MllpListener(settings, config, keyring=keyring)
    await listener.start()
    try:
        if on_listening is not None:
            on_listening(listener.address)
        if ready is not None:
            ready.set()
        waiters = {listener.committer_task, asyncio.ensure_future((stop or asyncio.Event()).wait())}
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters - done:
            if task is not listener.committer_task:
                task.cancel()
    finally:
        stats = await listener.stop()
    return stats


def run_listener(settings: Settings, **options) -> int:
    """Blocking entry point for ``wardflow listen``: SIGTERM/SIGINT stop it cleanly. Exit codes: 0 after a
    clean stop, 2 unusable options, 3 database unreachable at startup, 1 an internal error."""

    async def main() -> ListenerStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await serve(settings, stop=stop, **options)

    try:
        asyncio.run(main())
    except ListenerConfigError as exc:
        log.error("listener not started: %s", exc)
        return 2
    except DatabaseUnavailable as exc:
        log.error("listener not started: %s", exc)
        return 3
    except Exception:
        log.exception("listener stopped by an internal error")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m connectors.hl7.listener``: the listener as a process (tests, benchmarks, service units).
    ``--ready-file`` receives ``{"host", "port", "pid"}`` as JSON once the socket is bound."""
    import argparse
    import json
    import os

    from connectors.settings import load_settings

    p = argparse.ArgumentParser(prog="python -m connectors.hl7.listener", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2575)
    for name in ("--tls-cert", "--tls-key", "--client-ca", "--ready-file"):
        p.add_argument(name, type=Path)
    p.add_argument("--allow-plaintext", action="store_true")
    p.add_argument("--max-message-size", type=int, default=ListenerConfig.max_message_size)
    p.add_argument("--max-connections-per-client", type=int, default=ListenerConfig.max_connections_per_client)
    p.add_argument("--max-messages-per-second-per-client", type=float,
                   default=ListenerConfig.max_messages_per_second_per_client)
    p.add_argument("--group-commit-ms", type=float, default=5.0)
    p.add_argument("--log-level", default="INFO")
    args = vars(p.parse_args(argv))
    logging.basicConfig(level=args.pop("log_level").upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ready_file = args.pop("ready_file")

    def on_listening(address: tuple[str, int]) -> None:
        if ready_file is not None:
            tmp = ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"host": address[0], "port": address[1], "pid": os.getpid()}))
            tmp.replace(ready_file)

    return run_listener(load_settings(), on_listening=on_listening, **args)


if __name__ == "__main__":
    raise SystemExit(main())

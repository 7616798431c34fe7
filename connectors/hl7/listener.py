"""`wardflow listen`: the MLLP listener, a long-running asyncio process (DESIGN.md decision 9).

Modules: ``server.py`` (connections: frames in, ACKs out), ``commit.py`` (group commit on a database
thread), ``replies.py`` (which ACK), ``runtime.py`` (options, stats, database side, audit),
``limits.py`` (per-client limits), ``registry.py`` (device registry), ``tls.py``. Every message is ACKed
only after the commit that holds it; ACKs of a connection go out in the order its messages came.

* Frame over ``max_message_size``: AR with ERR 104, then the connection is closed. Bytes outside frames
  and partial frames of a connection that ends are discarded and counted.
* TLS with ``tls_cert``/``tls_key``; with ``client_ca`` a client certificate is required and must be in
  ``landing.device_registry`` (active) — else the connection is closed and audited ``listener.refused``.
  Without TLS the listener binds to loopback only, unless ``allow_plaintext``.
* Per client (peer IP, or certificate under mutual TLS): at most ``max_connections_per_client``
  connections. Per sender (certificate, else peer IP with MSH-3/MSH-4): ``max_messages_per_second_per_client``
  messages (token bucket; off by default), a refused message gets AE with the wait in ERR-8. Refusals are
  counted and audited at most once a minute per client and reason.
* Slow or stalled senders: a frame must arrive within ``frame_timeout_s``, a connection without a message for
  ``idle_timeout_s`` is closed, partial frames of all connections share ``max_buffered_bytes``.
* The landing session heals itself: a failed session is replaced and the batch retried once; flushes that
  keep failing while the database answers a probe rebuild the database side (``listener.degraded``).
* Stop (SIGTERM/SIGINT in ``run_listener``): stop accepting, close idle connections, let busy ones finish
  and ACK what they received, land what is pending, audit ``listener.stopped`` with the stats, exit 0.
* Logs carry connection ids, sizes and counts, never message content.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from connectors.hl7.commit import DatabaseUnavailable
from connectors.hl7.runtime import ListenerConfig, ListenerStats
from connectors.hl7.server import MllpListener
from connectors.hl7.tls import ListenerConfigError
from connectors.settings import Settings

log = logging.getLogger("wardflow.listener")

__all__ = ["ListenerConfig", "ListenerConfigError", "ListenerStats", "MllpListener", "main", "run_listener", "serve"]


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

    if not logging.getLogger().handlers:  # the CLI may have configured logging already
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
    p.add_argument("--frame-timeout-s", type=float, default=ListenerConfig.frame_timeout_s)
    p.add_argument("--idle-timeout-s", type=float, default=ListenerConfig.idle_timeout_s)
    p.add_argument("--max-buffered-bytes", type=int, default=ListenerConfig.max_buffered_bytes)
    p.add_argument("--wedge-after-s", type=float, default=ListenerConfig.wedge_after_s)
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

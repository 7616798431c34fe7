"""What the MLLP listener's integration tests share: a synthetic PCD-01 stream, a listener on an ephemeral port
in a thread of its own (faults go into its landing session through ``call``), a resend-on-NAK sender run,
and the check that every message was acknowledged and landed exactly once."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from connectors.hl7.runtime import ListenerConfig
from connectors.hl7.sender import SendReport, send_stream
from connectors.hl7.server import MllpListener
from connectors.settings import Settings

DEVICE = "MON1^0012345678ABCDE1^EUI-64"
VITALS = [("150456", "97", "262688^MDC_DIM_PERCENT"), ("147842", "71", "264864^MDC_DIM_BEAT_PER_MIN"),
          ("150037", "121", "266016^MDC_DIM_MMHG"), ("151562", "16", "264928^MDC_DIM_RESP_PER_MIN")]


def pcd01(control_id: str, sender: str = DEVICE) -> bytes:
    """A synthetic IHE PCD-01 ORU^R01 v2.6 (made-up patient)."""
    ts = "20261202120000+0800"
    segs = [f"MSH|^~\\&|{sender}|ICU-EAST|WARDFLOW|HOSP|{ts}||ORU^R01^ORU_R01|{control_id}|P|2.6|||NE|AL||"
            "UNICODE UTF-8", "PID|||CHAOS0001^^^HOSP^MR||Chaos^Patient||19700101|F", "PV1||I|ICU^01^BED07^HOSP",
            f"OBR|1|{control_id}^MON|{control_id}^MON|182777000^monitoring of patient^SNOMED-CT|||{ts}"]
    segs += [f"OBX|{n}|NM|{code}^MDC_X^MDC|1.3.1.{code}|{value}|{unit}^MDC||||||R|||{ts}"
             for n, (code, value, unit) in enumerate(VITALS, 1)]
    return ("\r".join(segs) + "\r").encode()


def stream(n: int) -> list[tuple[str, bytes]]:
    tag = uuid.uuid4().hex[:6].upper()
    return [(cid, pcd01(cid)) for cid in (f"C{tag}{i:06d}" for i in range(n))]


class LiveListener:
    """An MllpListener on an ephemeral port in a thread with its own event loop; ``call(fn)`` runs ``fn`` on
    the listener's landing session between batches (the way faults are injected into that session)."""

    def __init__(self, settings: Settings, keyring, **config) -> None:
        self.settings, self.keyring = settings, keyring
        self.config = ListenerConfig(port=0, **config)
        self.bound = threading.Event()
        self.error: BaseException | None = None
        self.stats = None

    def __enter__(self) -> LiveListener:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.thread.start()
        assert self.bound.wait(60), "listener did not start"
        if self.error:
            raise self.error
        return self

    async def _main(self) -> None:
        self.loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            self.listener = MllpListener(self.settings, self.config, keyring=self.keyring)
            await self.listener.start()
            self.port = self.listener.address[1]
        except BaseException as exc:
            self.error = exc
            self.bound.set()
            return
        self.bound.set()
        await self._stop.wait()
        self.stats = await self.listener.stop()

    def call(self, fn: Callable[[psycopg.Connection], object]) -> object:
        committer = self.listener.committer
        assert committer is not None
        return asyncio.run_coroutine_threadsafe(committer.call(fn), self.loop).result(30)

    def stop(self):
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self.thread.join(60)
        return self.stats

    def __exit__(self, *exc) -> None:
        self.stop()


def send(port: int, messages: list[tuple[str, bytes]], *, connections: int = 8, deadline_s: float = 90,
         on_ack: Callable[[str, str], None] | None = None) -> SendReport:
    return asyncio.run(send_stream("127.0.0.1", port, messages, connections=connections, deadline_s=deadline_s,
                                   on_ack=on_ack))


def landed_counts(url: str, messages: list[tuple[str, bytes]]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select control_id, count(*) from landing.hl7_messages where control_id = any(%s) "
                            "group by control_id", ([cid for cid, _ in messages],)).fetchall()
    return dict(rows)


def assert_every_message_landed_once(report: SendReport, url: str, messages: list[tuple[str, bytes]]) -> None:
    assert report.unacked == [], f"{len(report.unacked)} messages never acknowledged; NAKs {dict(report.naks)}"
    assert report.acked == len(messages)
    assert landed_counts(url, messages) == {cid: 1 for cid, _ in messages}


@contextmanager
def listener_database(server_admin_url: str, settings: Settings, home: Path) -> Iterator[tuple[Settings, str]]:
    """A database of its own for a module of listener tests (they land tens of thousands of messages, which
    would skew what other tests sample from the session's database): initialised with the session's key and
    role passwords, dropped afterwards."""
    import shutil

    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from orchestration.warehouse.database import init_database

    name = f"wardflow_mllp_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        (home / "secrets").mkdir(parents=True, exist_ok=True)
        shutil.copy(settings.secrets_dir / "roles.json", home / "secrets" / "roles.json")
        url = make_conninfo(server_admin_url, dbname=name)
        own = Settings(home=home, database_url=url, master_key=settings.master_key, key_file=settings.key_file)
        init_database(own)
        yield own, url
    finally:
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))

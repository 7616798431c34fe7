"""The MLLP listener over real sockets (127.0.0.1, ephemeral ports) against a real PostgreSQL.

What a sending device would notice: every frame, however it is cut, gets its ACK only once the message is
in landing.hl7_messages; bad frames get NAKs and never their content back; TLS and client certificates
gate who may send; a database outage yields AE, never AA, and heals by itself; a killed listener loses
nothing that was ACKed, and resends are landed exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from connectors.hl7.framing import MllpDecoder, frame
from connectors.hl7.listener import ListenerConfigError, serve
from connectors.hl7.registry import register_device
from connectors.settings import Settings
from orchestration.warehouse.database import init_database

REPO = Path(__file__).resolve().parents[2]
SECRET = "ZZPATIENTZZ"
UNLIMITED = {"max_connections_per_client": 0, "max_messages_per_second_per_client": 0}


def oru(control_id: str, *, obx: int = 2, msh15: str = "", msh16: str = "", sender: str = "MON",
        version: str = "2.6", value: int = 72) -> bytes:
    """A small synthetic HL7 v2.6 ORU^R01 (one made-up patient, `obx` vital signs)."""
    segs = [f"MSH|^~\\&|{sender}|ICU1|WARDFLOW|HOSP|20261129120000||ORU^R01^ORU_R01|{control_id}|P|{version}|||"
            f"{msh15}|{msh16}",
            f"PID|1||{SECRET}^^^HOSP^MR||Test^Patient||19700101|F",
            "OBR|1|||69837-1^Vital signs^LN|||20261129120000"]
    segs += [f"OBX|{k}|NM|8867-4^Heart rate^LN||{value + k}|/min^^UCUM|||||F" for k in range(1, obx + 1)]
    return ("\r".join(segs) + "\r").encode()


def ids(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:6].upper()
    return [f"T{tag}{i:05d}" for i in range(n)]


def msa(ack: bytes) -> tuple[str, str]:
    fields = ack.split(b"\r")[1].decode().split("|")
    return fields[1], fields[2]


def err_code(ack: bytes) -> str:
    err = next(s for s in ack.split(b"\r") if s.startswith(b"ERR"))
    return err.decode().split("|")[3].split("^")[0]


class Client:
    """A blocking MLLP sender: frames out, ACK payloads back (decoded with the project's own decoder)."""

    def __init__(self, port: int, ctx: ssl.SSLContext | None = None, timeout: float = 10.0) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(sock, server_hostname="localhost") if ctx else sock
        self.decoder = MllpDecoder()
        self.acks: deque[bytes] = deque()

    def send(self, payload: bytes, piece: int | None = None) -> None:
        data = frame(payload)
        if piece is None:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), piece):
            self.sock.sendall(data[i:i + piece])
            if i % 64 == 0:
                time.sleep(0.0005)  # let the listener see many short reads

    def recv(self, n: int = 1) -> list[bytes]:
        while len(self.acks) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("listener closed the connection")
            self.acks.extend(e.payload for e in self.decoder.feed(data))
        return [self.acks.popleft() for _ in range(n)]

    def request(self, payload: bytes, n: int = 1) -> list[bytes]:
        self.send(payload)
        return self.recv(n)

    def close(self) -> None:
        self.sock.close()


class ListenerThread:
    """``serve()`` on an ephemeral port in a thread with its own event loop."""

    def __init__(self, settings: Settings, **options) -> None:
        self.settings, self.options = settings, {**UNLIMITED, **options}
        self.bound = threading.Event()
        self.port = 0
        self.stats = None
        self.error: BaseException | None = None

    def __enter__(self) -> ListenerThread:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.thread.start()
        assert self.bound.wait(30), "listener did not start"
        if self.error:
            raise self.error
        return self

    async def _main(self) -> None:
        self.loop, self._stop = asyncio.get_running_loop(), asyncio.Event()

        def on_listening(address: tuple[str, int]) -> None:
            self.port = address[1]
            self.bound.set()

        try:
            self.stats = await serve(self.settings, port=0, stop=self._stop, on_listening=on_listening,
                                     **self.options)
        except BaseException as exc:  # handed to the test thread
            self.error = exc
            self.bound.set()

    def stop(self):
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self.thread.join(60)
        if self.error:
            raise self.error
        return self.stats

    def __exit__(self, *exc) -> None:
        self.stop()


def landed(url: str, control_ids: list[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select control_id, count(*) from landing.hl7_messages where control_id = any(%s) "
                            "group by 1", (control_ids,)).fetchall()
    return dict(rows)


def audit_rows(url: str, action: str, since_id: int = 0) -> list[dict]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("select details from audit.events where action = %s and event_id > %s "
                                           "order by event_id", (action, since_id)).fetchall()]


def last_event_id(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select coalesce(max(event_id), 0) from audit.events").fetchone()[0]


@pytest.fixture(scope="module")
def listener(settings, keyring) -> Iterator[ListenerThread]:
    with ListenerThread(settings, max_message_size=4096, keyring=keyring) as lt:
        yield lt


# -- framing, ACK rules, duplicates ---------------------------------------------------------------------------
def test_frames_in_one_byte_pieces_and_several_per_read(listener, database_url) -> None:
    cids = ids(6)
    c = Client(listener.port)
    for cid in cids[:2]:
        c.send(oru(cid), piece=1)
        code, echoed = msa(c.recv()[0])
        assert (code, echoed) == ("AA", cid)
    c.sock.sendall(b"".join(frame(oru(cid)) for cid in cids[2:]))  # four frames in one write
    assert [msa(a) for a in c.recv(4)] == [("AA", cid) for cid in cids[2:]]
    c.close()
    assert landed(database_url, cids) == {cid: 1 for cid in cids}


def test_ack_mirrors_header_and_duplicates_are_not_landed_twice(listener, database_url) -> None:
    cid, reused = ids(2)
    c = Client(listener.port)
    ack = c.request(oru(cid))[0]
    msh = ack.split(b"\r")[0].decode().split("|")
    assert msh[2:6] == ["WARDFLOW", "HOSP", "MON", "ICU1"] and msh[8] == "ACK^R01^ACK" and msh[11] == "2.6"
    assert msa(c.request(oru(cid))[0]) == ("AA", cid)              # the same message again: a resend
    assert msa(c.request(oru(reused))[0]) == ("AA", reused)
    assert msa(c.request(oru(reused, value=99))[0]) == ("AA", reused)  # same id, new content
    c.close()
    assert landed(database_url, [cid, reused]) == {cid: 1, reused: 2}
    with psycopg.connect(database_url) as conn:
        flags = conn.execute("select bool_and(control_id_reused) from landing.hl7_messages where control_id = %s",
                             (reused,)).fetchone()[0]
    assert flags is True


def test_enhanced_mode_commit_then_application_ack(listener) -> None:
    a, b, c_ = ids(3)
    c = Client(listener.port)
    assert [msa(x)[0] for x in c.request(oru(a, msh15="AL", msh16="AL"), 2)] == ["CA", "AA"]
    assert [msa(x)[0] for x in c.request(oru(b, msh15="AL", msh16="NE"))] == ["CA"]
    c.send(oru(c_, msh15="NE", msh16="AL"))                          # only the application ACK was asked for
    assert [msa(x) for x in c.recv()] == [("AA", c_)]
    c.close()


def test_bad_messages_are_nakked_stored_as_rejects_and_never_echoed(listener, database_url) -> None:
    cid, cid2 = ids(2)
    c = Client(listener.port)
    no_msh = f"PID|1||{SECRET}\r".encode()
    ack = c.request(no_msh)[0]
    assert msa(ack)[0] == "AE" and err_code(ack) == "100" and SECRET.encode() not in ack
    ack = c.request(oru(cid, version="9.9"))[0]                     # unsupported version: reject
    assert msa(ack) == ("AR", cid) and err_code(ack) == "203" and SECRET.encode() not in ack
    gb = (f"MSH|^~\\&|MON|病区一|WARDFLOW|HOSP|20261129120000||ORU^R01|{cid2}|P|2.6||||||GB 18030\r"
          "PID|1||X^^^HOSP^MR||张^伟\r").encode("gb18030")
    ack = c.request(gb)[0]
    assert msa(ack) == ("AA", cid2) and "病区一".encode("gb18030") in ack and ack.decode("gb18030")
    c.close()
    with psycopg.connect(database_url) as conn:
        rules = {r[0] for r in conn.execute("select rule from landing.rejected where source_kind = 'mllp'")}
    assert {"msh.missing", "version.unsupported"} <= rules


def test_control_characters_in_a_header_do_not_block_the_batch(listener, database_url) -> None:
    good, bad = ids(2)
    c = Client(listener.port)
    c.sock.sendall(frame(oru(good)) + frame(oru(bad).replace(bad.encode(), bad.encode() + b"\x00", 1)))
    acks = c.recv(2)
    # NUL cannot go in a text column: the parser refuses it (hl7.nul_character, with its field) before landing;
    # test_landing.py plants one past the parser to keep landing's own refusal path covered
    assert msa(acks[0]) == ("AA", good) and msa(acks[1])[0] in ("AE", "AR")
    c.close()
    assert landed(database_url, [good]) == {good: 1}
    with psycopg.connect(database_url) as conn:
        kept = conn.execute("select field_path from landing.rejected where rule = 'hl7.nul_character' "
                            "and source_kind = 'mllp'").fetchall()
    assert ("MSH-10",) in kept


def test_a_parser_crash_is_kept_as_a_reject_and_nakked(listener, database_url, monkeypatch) -> None:
    import connectors.hl7.server as module

    real = module.parse_message

    def crashing(raw: bytes, **kw):
        if b"CRASHME" in raw:
            raise IndexError("simulated parser bug")
        return real(raw, **kw)

    monkeypatch.setattr(module, "parse_message", crashing)
    cid = ids(1)[0]
    c = Client(listener.port)
    ack = c.request(oru(cid, sender="CRASHME"))[0]
    assert msa(ack)[0] == "AE" and err_code(ack) == "207" and SECRET.encode() not in ack
    assert msa(c.request(oru(cid))[0]) == ("AA", cid)               # the connection goes on
    c.close()
    with psycopg.connect(database_url) as conn:
        kept = conn.execute("select count(*) from landing.rejected where rule = 'parser.internal_error'").fetchone()
    assert kept[0] == 1


def test_oversized_frame_garbage_and_disconnect_mid_frame(settings, keyring, database_url) -> None:
    cids = ids(3)
    with ListenerThread(settings, max_message_size=2000, keyring=keyring) as lt:
        c = Client(lt.port)
        c.sock.sendall(b"noise\r\n" + frame(oru(cids[0])) + b"\x00\x01more noise" + frame(oru(cids[1])))
        assert [msa(a) for a in c.recv(2)] == [("AA", cids[0]), ("AA", cids[1])]
        c.send(oru("BIG", obx=60))                                   # > 2000 bytes
        ack = c.recv()[0]
        assert msa(ack)[0] == "AR" and err_code(ack) == "104"
        with pytest.raises((EOFError, ConnectionError)):
            c.recv()
        c.close()
        half = Client(lt.port)
        half.sock.sendall(frame(oru(cids[2]))[:200])                  # then the sender goes away
        half.close()
        time.sleep(0.2)
        again = Client(lt.port)
        assert msa(again.request(oru(cids[2]))[0]) == ("AA", cids[2])  # the next connection is fine
        again.close()
        stats = lt.stop()
    assert stats.oversize == 1 and stats.incomplete_frames == 1 and stats.naks == 1
    assert stats.bytes_discarded >= len(b"noise\r\n") + len(b"\x00\x01more noise") + 200
    assert landed(database_url, cids) == {cid: 1 for cid in cids}


def stop_and_wait(settings, keyring, cids: list[str], connections: int):
    """Send `cids` over `connections` clients that each wait for the ACK before the next message; returns the
    (MSA-1, MSA-2) of every ACK and the listener's stats."""
    acked: list[tuple[str, str]] = []
    lock = threading.Lock()

    def sender(chunk: list[str], port: int) -> None:
        c = Client(port, timeout=30)
        for cid in chunk:
            got = msa(c.request(oru(cid))[0])
            with lock:
                acked.append(got)
        c.close()

    with ListenerThread(settings, keyring=keyring) as lt:
        threads = [threading.Thread(target=sender, args=(cids[i::connections], lt.port))
                   for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        stats = lt.stop()
    return acked, stats


def test_hundred_concurrent_connections_share_group_commits(settings, keyring, database_url) -> None:
    cids = ids(500)
    acked, stats = stop_and_wait(settings, keyring, cids, 100)
    assert sorted(acked) == sorted(("AA", cid) for cid in cids)
    assert landed(database_url, cids) == {cid: 1 for cid in cids}
    assert stats.connections == 100 and stats.landed == 500
    assert stats.commits < 250 and stats.mean_batch_size > 2     # not one fsync per message


def test_stop_and_wait_senders_are_committed_on_the_event_loop(settings, keyring, database_url) -> None:
    """When every connection waits for its ACK, the flush runs on the loop (no thread hand-off); the audit
    writes that go through the database thread meanwhile must not share its transaction."""
    cids = ids(160)
    acked, stats = stop_and_wait(settings, keyring, cids, 4)
    assert sorted(acked) == sorted(("AA", cid) for cid in cids)
    assert landed(database_url, cids) == {cid: 1 for cid in cids}
    assert 0 < stats.inline_commits <= stats.commits


# -- limits -----------------------------------------------------------------------------------------------
def test_per_client_connection_and_rate_limits_are_enforced_and_audited(settings, keyring, database_url) -> None:
    cids = ids(40)
    since = last_event_id(database_url)
    with ListenerThread(settings, keyring=keyring, max_connections_per_client=2,
                        max_messages_per_second_per_client=10) as lt:
        a, b = Client(lt.port), Client(lt.port)
        assert msa(a.request(oru(cids[0]))[0])[0] == "AA"
        third = Client(lt.port)
        with pytest.raises((EOFError, ConnectionError)):
            third.request(oru(cids[1]))
        a.sock.sendall(b"".join(frame(oru(cid)) for cid in cids[2:]))  # 38 at once, 10/s allowed
        codes = [msa(x)[0] for x in a.recv(38)]
        assert "AE" in codes and 5 <= codes.count("AA") <= 20
        for c in (a, b, third):
            c.close()
        stats = lt.stop()
    assert stats.refused_connections == 1 and stats.refused_messages == codes.count("AE")
    events = audit_rows(database_url, "listener.refused", since)
    reasons = {e["reason"]: e["count"] for e in events if e.get("peer") == "127.0.0.1"}
    assert reasons.get("too_many_connections") == 1
    assert sum(e["count"] for e in events if e["reason"] == "rate_limited") == codes.count("AE")
    assert len([e for e in events if e["reason"] == "rate_limited"]) <= 2   # aggregated, not one per message


def test_plaintext_is_refused_off_loopback(settings, keyring) -> None:
    with pytest.raises(ListenerConfigError, match="without TLS"):
        asyncio.run(serve(settings, host="0.0.0.0", port=0, keyring=keyring))  # noqa: S104


# -- TLS and the device registry -----------------------------------------------------------------------------
def _pki(tmp: Path) -> dict[str, Path]:
    """A CA, a server certificate for localhost, and two client certificates signed by the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def make(cn: str, issuer=None, issuer_key=None, ca=False, san=None):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = b.sign(issuer_key or key, hashes.SHA256())
        return cert, key

    def write(stem: str, cert, key) -> None:
        (tmp / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp / f"{stem}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))

    import ipaddress
    ca, ca_key = make("wardflow test CA", ca=True)
    write("ca", ca, ca_key)
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    write("server", *make("localhost", ca.subject, ca_key, san=san))
    write("pump", *make("infusion-pump-0042", ca.subject, ca_key))
    write("stranger", *make("unknown-device", ca.subject, ca_key))
    return {p.stem + p.suffix.replace(".pem", ""): p for p in tmp.iterdir()}


def _client_ctx(pki: dict[str, Path], who: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if who:
        ctx.load_cert_chain(str(pki[who]), str(pki[who + ".key"]))
    return ctx


def test_tls_and_mutual_tls_with_the_device_registry(settings, keyring, database_url, tmp_path) -> None:
    pki = _pki(tmp_path)
    cids = ids(4)
    with ListenerThread(settings, keyring=keyring, tls_cert=pki["server"], tls_key=pki["server.key"]) as lt:
        c = Client(lt.port, _client_ctx(pki, None))                  # server-only TLS
        assert msa(c.request(oru(cids[0]))[0]) == ("AA", cids[0])
        c.close()
    device = register_device(settings, pki["pump"].read_text(), "infusion pump 42", "PUMP")
    stranger_fp = _fingerprint(pki["stranger"])
    since = last_event_id(database_url)
    with ListenerThread(settings, keyring=keyring, tls_cert=pki["server"], tls_key=pki["server.key"],
                        client_ca=pki["ca"]) as lt:
        pump = Client(lt.port, _client_ctx(pki, "pump"))
        assert msa(pump.request(oru(cids[1], sender="PUMP"))[0]) == ("AA", cids[1])
        ack = pump.request(oru(cids[2], sender="MON"))[0]            # not the sender registered for this cert
        assert msa(ack)[0] == "AR"
        pump.close()
        with pytest.raises((EOFError, ConnectionError, ssl.SSLError)):
            stranger = Client(lt.port, _client_ctx(pki, "stranger"))
            stranger.request(oru(cids[3], sender="PUMP"))
        events = _wait_for(lambda: audit_rows(database_url, "listener.refused", since))
        stats = lt.stop()
    assert device.device_name == "infusion pump 42" and len(device.fingerprint) == 64
    assert {"fingerprint": stranger_fp, "reason": "unknown_certificate"}.items() <= events[0].items()
    assert SECRET not in json.dumps(events)
    assert stats.refused_connections == 1
    assert landed(database_url, cids) == {cids[0]: 1, cids[1]: 1}


def test_pcd01_monitor_registered_by_namespace_id_via_the_cli(settings, keyring, database_url, tmp_path,
                                                               wardflow_env) -> None:
    """A monitor sends MSH-3 as an HD (MON1^<EUI-64>^EUI-64); the operator registered it as MON1 with
    `wardflow devices register`. Its messages are accepted; a sender it was not registered as gets AR with
    the rule in ERR-8; `devices disable` refuses the certificate from the next connection on."""
    pki = _pki(tmp_path)
    cli = [str(REPO / ".venv" / "bin" / "wardflow"), "devices"]
    env = {**os.environ, **wardflow_env}
    run = subprocess.run([*cli, "register", "--cert", str(pki["pump"]), "--name", "ICU-3 bed 7 monitor",
                          "--sender", "MON1", "--json"], env=env, capture_output=True, text=True, check=True)
    fingerprint = json.loads(run.stdout)["devices"][0]["fingerprint"]
    listed = json.loads(subprocess.run([*cli, "list", "--json"], env=env, capture_output=True, text=True,
                                       check=True).stdout)["devices"]
    assert {"fingerprint": fingerprint, "sender": "MON1", "active": True}.items() <= \
        next(d for d in listed if d["fingerprint"] == fingerprint).items()
    good, other = ids(2)
    with ListenerThread(settings, keyring=keyring, tls_cert=pki["server"], tls_key=pki["server.key"],
                        client_ca=pki["ca"]) as lt:
        monitor = Client(lt.port, _client_ctx(pki, "pump"))
        assert msa(monitor.request(oru(good, sender="MON1^0012345678ABCDE1^EUI-64"))[0]) == ("AA", good)
        ack = monitor.request(oru(other, sender="MON2^0012345678ABCDE1^EUI-64"))[0]
        assert msa(ack)[0] == "AR" and b"rule mllp.sender_not_registered" in ack
        monitor.close()
        subprocess.run([*cli, "disable", fingerprint], env=env, capture_output=True, text=True, check=True)
        with pytest.raises((EOFError, ConnectionError, ssl.SSLError)):
            again = Client(lt.port, _client_ctx(pki, "pump"))
            again.request(oru(ids(1)[0], sender="MON1"))
    assert landed(database_url, [good, other]) == {good: 1}


def _fingerprint(pem: Path) -> str:
    from connectors.hl7.tls import certificate_identity

    return certificate_identity(pem.read_text())[0]


def _wait_for(probe, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := probe()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


# -- the database goes away ------------------------------------------------------------------------------------
@pytest.fixture
def stoppable_database(own_database, settings: Settings) -> Iterator[tuple]:
    """A database of its own (same roles and key as the session) that a test may make unavailable."""
    name, url, home = own_database("wardflow_mllp")
    own = Settings(home=home, database_url=url, master_key=settings.master_key, key_file=settings.key_file)
    init_database(own)
    yield own, name, url


def _set_available(server_admin_url: str, name: str, available: bool) -> None:
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("alter database {} connection limit {}").format(
            sql.Identifier(name), sql.Literal(-1 if available else 0)))
        if available:
            return
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                     "and pid <> pg_backend_pid()", (name,))
        deadline = time.monotonic() + 10
        while conn.execute("select count(*) from pg_stat_activity where datname = %s", (name,)).fetchone()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_database_outage_gives_ae_never_aa_and_recovers(stoppable_database, server_admin_url, keyring) -> None:
    own, name, url = stoppable_database
    before, during, after = ids(20), ids(10), ids(10)
    with ListenerThread(own, keyring=keyring, db_retry_max_s=0.5) as lt:
        c = Client(lt.port)
        assert {msa(c.request(oru(cid))[0])[0] for cid in before} == {"AA"}
        _set_available(server_admin_url, name, False)
        down = []
        for cid in during:                                           # ~1.5 s of outage: several reconnects fail
            down += c.request(oru(cid))
            time.sleep(0.15)
        assert {msa(a)[0] for a in down} == {"AE"} and {err_code(a) for a in down} == {"207"}
        _set_available(server_admin_url, name, True)
        codes: dict[str, str] = {}
        deadline = time.monotonic() + 15
        for cid in during + after:                                   # the sender resends until AA
            while (code := msa(c.request(oru(cid))[0])[0]) != "AA" and time.monotonic() < deadline:
                time.sleep(0.1)
            codes[cid] = code
        c.close()
        stats = lt.stop()
    assert set(codes.values()) == {"AA"}
    assert landed(url, before + during + after) == {cid: 1 for cid in before + during + after}
    assert stats.commit_failures >= len(during) and stats.acks == len(before) + len(during) + len(after)


# -- the listener process is killed ---------------------------------------------------------------------------
class ListenerProcess:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        ready = tmp / f"ready-{uuid.uuid4().hex[:6]}.json"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "connectors.hl7.listener", "--port", "0", "--ready-file", str(ready),
             "--max-connections-per-client", "0", "--max-messages-per-second-per-client", "0"],
            cwd=REPO, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert self.proc.poll() is None, self.proc.stderr.read().decode() if self.proc.stderr else ""
            assert time.monotonic() < deadline, "listener process did not start"
            time.sleep(0.05)
        self.port = json.loads(ready.read_text())["port"]


def test_sigkill_mid_stream_then_resend_lands_everything_exactly_once(wardflow_env, keyring, database_url,
                                                                       tmp_path) -> None:
    cids = ids(2000)
    acked: set[str] = set()
    lock = threading.Lock()
    enough = threading.Event()  # set by a sender: the kill comes mid-stream, not a poll interval later
    first = ListenerProcess(tmp_path, wardflow_env)

    def sender(chunk: list[str]) -> None:
        try:
            c = Client(first.port)
            for start in range(0, len(chunk), 5):                    # a few pipelined messages at a time
                batch = chunk[start:start + 5]
                c.sock.sendall(b"".join(frame(oru(cid)) for cid in batch))
                for ack in c.recv(len(batch)):
                    code, cid = msa(ack)
                    if code == "AA":
                        with lock:
                            acked.add(cid)
                            if len(acked) >= 150:
                                enough.set()
        except (EOFError, ConnectionError, TimeoutError):
            return

    threads = [threading.Thread(target=sender, args=(cids[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    assert enough.wait(30)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    for t in threads:
        t.join(30)
    with lock:
        acked_before = set(acked)
    assert 150 <= len(acked_before) < len(cids)
    stored = landed(database_url, cids)
    assert all(stored.get(cid) == 1 for cid in acked_before)          # every AA is in the database

    second = ListenerProcess(tmp_path, wardflow_env)
    resend = [cid for cid in cids if cid not in acked_before] + sorted(acked_before)[:50]
    c = Client(second.port)
    for start in range(0, len(resend), 10):
        batch = resend[start:start + 10]
        c.sock.sendall(b"".join(frame(oru(cid)) for cid in batch))
        assert {msa(a)[0] for a in c.recv(len(batch))} == {"AA"}
    # A clean stop (SIGTERM) with messages in flight: whatever was ACKed is landed, exit code 0.
    burst = ids(200)
    c.sock.sendall(b"".join(frame(oru(cid)) for cid in burst))
    got = [msa(a) for a in c.recv(1)]
    second.proc.send_signal(signal.SIGTERM)
    try:
        while True:
            got += [msa(a) for a in c.recv(1)]
    except (EOFError, ConnectionError):
        pass
    c.close()
    assert second.proc.wait(30) == 0
    log = second.proc.stderr.read().decode() if second.proc.stderr else ""
    assert "listener stopped" in log and SECRET not in log
    assert landed(database_url, cids) == {cid: 1 for cid in cids}
    burst_landed = landed(database_url, burst)
    assert all(burst_landed.get(cid) == 1 for code, cid in got if code == "AA")

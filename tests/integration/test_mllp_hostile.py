"""Hostile and broken senders must not hurt the others (real sockets, real PostgreSQL).

An interface engine resending at full speed over 8 connections keeps getting every message AA, landed once,
with no commit failure, while other connections send over-long control ids, half frames that never end, one
byte at a time, frames of escape sequences, or megabytes of a frame and then nothing. Each of those is
answered or cut off on its own connection: a frame timeout, a cap on buffered bytes for all connections
together, parsing of large frames off the event loop, an ACK that echoes nothing of a refused header but
MSH-10.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest
from mllp_harness import (
    LiveListener,
    assert_every_message_landed_once,
    listener_database,
    pcd01,
    send,
    stream,
)

from connectors.hl7.framing import MllpDecoder, frame
from connectors.hl7.sender import ack_code_and_reason

REPO = Path(__file__).resolve().parents[2]
SECRET_ID = "110105196105121221"


def _connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _ack(sock: socket.socket) -> bytes:
    decoder = MllpDecoder()
    while True:
        data = sock.recv(65536)
        if not data:
            raise EOFError("closed")
        events = decoder.feed(data)
        if events:
            return events[0].payload


def _closed_by_peer(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except (ConnectionError, OSError):
        return True


class Hostile:
    """Background hostile clients; ``stop()`` ends them and returns what they saw."""

    def __init__(self, port: int) -> None:
        self.port, self.stopping = port, threading.Event()
        self.seen: dict[str, list] = {"long_id": [], "half": [], "slow": []}
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._long_id, self._long_id,
                                                                          self._half, self._slow)]

    def __enter__(self) -> Hostile:
        for t in self.threads:
            t.start()
        return self

    def _long_id(self) -> None:
        sock = _connect(self.port)
        message = pcd01("X" * 3000)
        while not self.stopping.is_set():
            sock.sendall(frame(message))
            self.seen["long_id"].append(ack_code_and_reason(_ack(sock)))
            time.sleep(0.01)
        sock.close()

    def _half(self) -> None:
        while not self.stopping.is_set():
            try:
                sock = _connect(self.port)
            except OSError:
                return
            sock.sendall(frame(pcd01(uuid.uuid4().hex[:12]))[:150])  # and never the rest
            self.seen["half"].append(_closed_by_peer(sock, 5.0))
            sock.close()

    def _slow(self) -> None:
        sock = _connect(self.port)
        data = frame(pcd01("SLOW1"))
        try:
            for byte in data:
                if self.stopping.is_set():
                    break
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            self.seen["slow"].append("closed")
        sock.close()

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(20)


@pytest.fixture(scope="module")
def own(server_admin_url, settings, initialised, tmp_path_factory):
    with listener_database(server_admin_url, settings, tmp_path_factory.mktemp("hostile-home")) as (own, url):
        yield own, url


def test_full_speed_resender_is_unharmed_by_hostile_clients(own, keyring) -> None:
    settings, database_url = own
    messages = stream(3000)
    with LiveListener(settings, keyring, frame_timeout_s=1.0) as live:
        with Hostile(live.port) as hostile:
            send(live.port, messages[::3])                           # a partial landing first
            report = send(live.port, messages)
            time.sleep(1.2)                                          # the slow and half clients time out
        stats = live.stop()
    assert_every_message_landed_once(report, database_url, messages)
    assert not report.naks and stats.commit_failures == 0
    long_ids = hostile.seen["long_id"]
    assert long_ids and {code for code, _ in long_ids} == {"AE"}
    assert {reason for _, reason in long_ids} == {"104 rule msh.control_id.too_long"}
    assert hostile.seen["half"] and all(hostile.seen["half"])     # cut off by the frame timeout
    assert stats.frame_timeouts >= 2 and stats.unstorable == 0


def test_over_long_control_id_is_refused_with_its_rule_and_kept_as_rejected(own, keyring) -> None:
    import psycopg

    settings, database_url = own
    with LiveListener(settings, keyring) as live:
        sock = _connect(live.port)
        long_id = "L" + uuid.uuid4().hex * 100
        sock.sendall(frame(pcd01(long_id)))
        ack = _ack(sock)
        sock.close()
    assert ack_code_and_reason(ack) == ("AE", "104 rule msh.control_id.too_long")
    assert ack.split(b"\r")[1].split(b"|")[2] == long_id.encode()   # MSA-2 echoes MSH-10 (HL7 requires it)
    with psycopg.connect(database_url) as conn:
        kept = conn.execute("select count(*) from landing.rejected where rule = 'msh.control_id.too_long' "
                            "and field_path = 'MSH-10'").fetchone()[0]
    assert kept >= 1


def test_unparsable_header_gets_back_nothing_but_its_control_id(own, keyring) -> None:
    settings, _ = own
    with LiveListener(settings, keyring) as live:
        sock = _connect(live.port)
        raw = (f"MSH|^~\\&|{SECRET_ID}|{SECRET_ID}|{SECRET_ID}|{SECRET_ID}|2026||ORU^{SECRET_ID}|CTL-9|"
               f"{SECRET_ID}|9.9\rPID|||{SECRET_ID}\r").encode()
        sock.sendall(frame(raw))
        ack = _ack(sock)
        sock.close()
    assert SECRET_ID.encode() not in ack
    assert ack.split(b"\r")[1] == b"MSA|AR|CTL-9"


def test_one_byte_a_second_is_cut_off_by_the_frame_timeout(own, keyring) -> None:
    settings, _ = own
    with LiveListener(settings, keyring, frame_timeout_s=0.5) as live:
        sock = _connect(live.port)
        started = time.monotonic()
        closed = False
        for byte in frame(pcd01("DRIP1"))[:40]:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.1)
        closed = closed or _closed_by_peer(sock, 3.0)
        sock.close()
        stats = live.stop()
    assert closed and time.monotonic() - started < 6
    assert stats.frame_timeouts == 1


def test_idle_connection_is_closed_after_the_idle_timeout(own, keyring) -> None:
    settings, _ = own
    with LiveListener(settings, keyring, idle_timeout_s=0.3) as live:
        sock = _connect(live.port)
        sock.sendall(frame(pcd01("IDLE-" + uuid.uuid4().hex[:8])))
        assert ack_code_and_reason(_ack(sock))[0] == "AA"
        assert _closed_by_peer(sock, 3.0)
        sock.close()
        stats = live.stop()
    assert stats.idle_timeouts == 1


def test_a_frame_of_escape_sequences_does_not_starve_another_sender(own, keyring) -> None:
    settings, _ = own
    """9 MB of escape sequences on one connection; another connection's ACKs keep coming (parsed off-loop)."""
    body = ("\\X0D\\\\T\\\\S\\" * 600_000)[: 9 * 1024 * 1024 - 400]
    big = pcd01("BIG-" + uuid.uuid4().hex[:8]).replace(b"CHAOS0001", body.encode())
    latencies: list[float] = []
    with LiveListener(settings, keyring, frame_timeout_s=60) as live:
        other = _connect(live.port)
        heavy = _connect(live.port)
        done = threading.Event()

        def heavy_sender() -> None:
            heavy.sendall(frame(big))
            _ack(heavy)
            done.set()

        t = threading.Thread(target=heavy_sender, daemon=True)
        t.start()
        k = 0
        while not done.is_set() and k < 2000:
            started = time.monotonic()
            other.sendall(frame(pcd01(f"SMALL-{uuid.uuid4().hex[:10]}")))
            assert ack_code_and_reason(_ack(other))[0] == "AA"
            latencies.append(time.monotonic() - started)
            k += 1
        t.join(60)
        stats = live.stop()
    assert done.is_set() and stats.offloaded_frames >= 1
    assert len(latencies) >= 5
    assert max(latencies) < 0.5, f"another sender waited {max(latencies):.2f} s for an ACK"


def _listener_process(env: dict[str, str], tmp: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    ready = tmp / f"ready-{uuid.uuid4().hex[:6]}.json"
    proc = subprocess.Popen([sys.executable, "-m", "connectors.hl7.listener", "--port", "0", "--ready-file",
                             str(ready), *extra], cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "listener process did not start"
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())["port"]


def test_many_huge_partial_frames_are_capped_and_memory_given_back(wardflow_env, keyring, tmp_path) -> None:
    """40 connections each send 9.9 MB of a frame and then nothing: the listener holds at most its cap of
    partial frames (64 MB here), closes the connections that would pass it, and gives the memory back."""
    proc, port = _listener_process(wardflow_env, tmp_path, "--max-buffered-bytes", str(64 << 20),
                                   "--frame-timeout-s", "60")
    try:
        ps = psutil.Process(proc.pid)
        base = ps.memory_info().rss
        chunk = frame(pcd01("HUGE") + b"Z" * (10 * 1024 * 1024))[: int(9.9 * 1024 * 1024)]
        socks, peak = [], 0
        for _ in range(40):
            s = _connect(port)
            try:
                s.sendall(chunk)
            except OSError:
                pass
            socks.append(s)
            peak = max(peak, ps.memory_info().rss)
        time.sleep(0.5)
        peak = max(peak, ps.memory_info().rss)
        closed = sum(_closed_by_peer(s, 0.2) for s in socks)
        for s in socks:
            s.close()
        time.sleep(2.5)                                              # closes noticed, memory trimmed
        after = ps.memory_info().rss
    finally:
        proc.terminate()
        proc.wait(30)
    assert closed >= 30, f"only {closed} of 40 connections were cut off at the cap"
    assert peak - base < 200 << 20, f"listener grew by {(peak - base) >> 20} MB"
    assert after - base < 60 << 20, f"{(after - base) >> 20} MB still held after the connections closed"


@pytest.mark.parametrize("sender", ["MON1", "^0012345678abcde1^EUI-64", "MON1^0012345678ABCDE1^EUI-64",
                                    "MON1|ICU-EAST", ""])
def test_registered_sender_matches_hierarchic_designators(sender: str) -> None:
    from connectors.hl7.registry import Device

    device = Device("f" * 64, "", "monitor", sender, True)
    assert device.allows_sender("MON1^0012345678ABCDE1^EUI-64", "ICU-EAST")


@pytest.mark.parametrize("sender", ["MON2", "^0012345678ABCDE2^EUI-64", "MON1^0012345678ABCDE2^EUI-64",
                                    "MON1|ICU-WEST", "^0012345678ABCDE1^EUI-48"])
def test_other_senders_do_not_match(sender: str) -> None:
    from connectors.hl7.registry import Device

    device = Device("f" * 64, "", "monitor", sender, True)
    assert not device.allows_sender("MON1^0012345678ABCDE1^EUI-64", "ICU-EAST")

"""An MLLP sender that behaves like a hospital interface engine: stop-and-wait connections that resend a
message on a negative ACK (with back-off) and on a lost connection (after reconnecting), until it is
acknowledged positively or the deadline passes.

Used by the listener's chaos tests and ``benchmarks/mllp_soak.py``; also a way to replay files into a
listener. It records per message the final ACK code and how often it was sent, and per NAK the table 0357
code and the rule the listener names in ERR-8 — never message content.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from connectors.hl7.framing import MllpDecoder, frame

POSITIVE = frozenset({"AA", "CA"})


@dataclass
class SendReport:
    """What the sender saw: final ACK code per control id, attempts, NAKs by reason, latencies."""

    final: dict[str, str] = field(default_factory=dict)      # control id → last ACK code (AA/CA when done)
    attempts: Counter = field(default_factory=Counter)       # control id → frames sent
    naks: Counter = field(default_factory=Counter)           # "AE 207 landing.commit_failed" → count
    reconnects: int = 0
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (time acked, seconds since first send)

    @property
    def acked(self) -> int:
        return sum(1 for code in self.final.values() if code in POSITIVE)

    @property
    def unacked(self) -> list[str]:
        return [cid for cid, code in self.final.items() if code not in POSITIVE]

    def merge(self, other: SendReport) -> None:
        self.final.update(other.final)
        self.attempts.update(other.attempts)
        self.naks.update(other.naks)
        self.reconnects += other.reconnects
        self.latencies.extend(other.latencies)


def ack_code_and_reason(ack: bytes) -> tuple[str, str]:
    """MSA-1 and, for a NAK, "<code> <rule>" from ERR-3 and ERR-8 (the rule the listener names)."""
    segments = ack.split(b"\r")
    msa = next((s for s in segments if s.startswith(b"MSA")), b"")
    fs = msa[3:4] or b"|"
    code = (msa.split(fs) + [b"", b""])[1].decode("ascii", "replace")
    err = next((s for s in segments if s.startswith(b"ERR")), b"")
    if not err:
        return code, ""
    fields = err.decode("ascii", "replace").split(fs.decode())
    table = fields[3].split("^")[0] if len(fields) > 3 else ""
    rule = fields[8] if len(fields) > 8 else ""
    return code, f"{table} {rule}".strip()


class MllpConnection:
    """One stop-and-wait MLLP client connection (reconnect with ``open``)."""

    def __init__(self, host: str, port: int, ctx: ssl.SSLContext | None, timeout: float) -> None:
        self.host, self.port, self.ctx, self.timeout = host, port, ctx, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.decoder = MllpDecoder()
        self.pending: list[bytes] = []

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(
            self.host, self.port, ssl=self.ctx, server_hostname="localhost" if self.ctx else None), self.timeout)
        self.decoder, self.pending = MllpDecoder(), []

    async def exchange(self, message: bytes) -> bytes:
        assert self.reader is not None and self.writer is not None
        self.writer.write(frame(message))
        await self.writer.drain()
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), self.timeout)
            if not data:
                raise ConnectionResetError("listener closed the connection")
            self.pending.extend(e.payload for e in self.decoder.feed(data) if hasattr(e, "payload"))
        return self.pending.pop(0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _send_share(host: str, port: int, share: Sequence[tuple[str, bytes]], report: SendReport, *,
                      ctx: ssl.SSLContext | None, deadline: float, timeout: float, backoff: tuple[float, float],
                      on_ack: Callable[[str, str], None] | None) -> None:
    conn = MllpConnection(host, port, ctx, timeout)
    rng = random.Random()  # noqa: S311 - jitter of a resend back-off, not a secret
    for cid, message in share:
        first = time.monotonic()
        wait = backoff[0]
        while True:
            if time.monotonic() > deadline:
                report.final.setdefault(cid, "timeout")
                conn.close()
                return
            try:
                if conn.writer is None:
                    await conn.open()
                report.attempts[cid] += 1
                code, reason = ack_code_and_reason(await conn.exchange(message))
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
                conn.close()
                report.reconnects += 1
                report.final[cid] = "lost"
                await asyncio.sleep(wait * rng.uniform(0.5, 1.0))
                wait = min(wait * 2, backoff[1])
                continue
            report.final[cid] = code
            if on_ack is not None:
                on_ack(cid, code)
            if code in POSITIVE:
                report.latencies.append((time.monotonic(), time.monotonic() - first))
                break
            report.naks[f"{code} {reason}".strip()] += 1
            if code in ("AR", "CR"):  # the receiver will never take it as is: resending is pointless
                break
            await asyncio.sleep(wait * rng.uniform(0.5, 1.0))
            wait = min(wait * 2, backoff[1])
    conn.close()


async def send_stream(host: str, port: int, messages: Sequence[tuple[str, bytes]], *, connections: int = 8,
                      ctx: ssl.SSLContext | None = None, deadline_s: float = 120.0, timeout_s: float = 20.0,
                      backoff_s: tuple[float, float] = (0.01, 0.5),
                      on_ack: Callable[[str, str], None] | None = None) -> SendReport:
    """Send ``(control id, payload)`` pairs over ``connections`` stop-and-wait connections (message ``i`` on
    connection ``i % connections``), resending on AE/CE, a lost connection or a timeout until AA/CA."""
    deadline = time.monotonic() + deadline_s
    report = SendReport()
    await asyncio.gather(*(
        _send_share(host, port, messages[k::connections], report, ctx=ctx, deadline=deadline, timeout=timeout_s,
                    backoff=backoff_s, on_ack=on_ack)
        for k in range(connections)))
    return report

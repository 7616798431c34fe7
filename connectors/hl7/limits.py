"""Per-client limits of the MLLP listener and the rate-limited audit trail of what they refused.

Connections are counted per peer IP address, or under mutual TLS per certificate fingerprint. Messages are
counted per sender: the certificate under mutual TLS, else the peer address with MSH-3 and MSH-4, because all
devices of a ward often arrive through one interface engine, i.e. one address, and one busy engine must not
be throttled as if it were one device. A sender may send ``max_rate`` messages a second on average (token
bucket, burst of one second's worth); a refused message is told how long to wait. Pure bookkeeping with an
injectable clock; no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``; ``take()`` spends one if there is one."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self) -> float:
        """Seconds until the next token (after a refused ``take``)."""
        return max(0.0, (1.0 - self.tokens) / self.rate)

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


MAX_BUCKETS = 4096  # senders tracked at once; idle ones (a full bucket) are forgotten first


class ClientLimits:
    """Connection counts per client key and message buckets per sender key; ``None`` or 0 means unlimited."""

    def __init__(self, max_connections: int | None, max_rate: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_connections = max_connections or None
        self.max_rate = max_rate or None
        self._clock = clock
        self._open: dict[str, int] = {}
        self._buckets: dict[str, TokenBucket] = {}

    def open(self, client: str) -> bool:
        """Count a new connection; False (and nothing counted) when the client is at its limit."""
        count = self._open.get(client, 0)
        if self.max_connections is not None and count >= self.max_connections:
            return False
        self._open[client] = count + 1
        return True

    def close(self, client: str) -> None:
        count = self._open.get(client, 0) - 1
        if count > 0:
            self._open[client] = count
        else:
            self._open.pop(client, None)

    def allow_message(self, sender: str) -> bool:
        if self.max_rate is None:
            return True
        now = self._clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_idle(now)
            bucket = self._buckets[sender] = TokenBucket(self.max_rate, max(1.0, self.max_rate), now)
        return bucket.take(now)

    def retry_after(self, sender: str) -> float:
        """How long a refused sender should wait before resending (rounded up to 0.1 s)."""
        bucket = self._buckets.get(sender)
        return round(max(0.1, bucket.wait() if bucket else 0.1) + 0.049, 1)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]
        while len(self._buckets) >= MAX_BUCKETS:  # every sender busy: the oldest goes
            del self._buckets[next(iter(self._buckets))]


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=dict)
    last_written: float | None = None


@dataclass(frozen=True)
class RefusalEvent:
    """One ``listener.refused`` audit event: a client, a reason and how often since the last event."""

    client: str
    reason: str
    count: int


class RefusalLog:
    """Counts refusals per client and releases them at most once per client per ``interval_s`` (one event
    per reason, with its count).

    The first refusal of a client is due at once (so that an unknown certificate shows up in the audit log
    immediately); later ones are added up and released when the interval has passed.
    """

    def __init__(self, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._tallies: dict[str, _Tally] = {}

    def note(self, client: str, reason: str, n: int = 1) -> None:
        tally = self._tallies.setdefault(client, _Tally())
        tally.counts[reason] = tally.counts.get(reason, 0) + n

    def due(self, *, everything: bool = False) -> list[RefusalEvent]:
        """Events to write now (``everything`` at shutdown); their counts are taken out of the log."""
        now, out = self._clock(), list[RefusalEvent]()
        for client, tally in list(self._tallies.items()):
            if not tally.counts:
                if tally.last_written is None or now - tally.last_written >= self.interval_s:
                    del self._tallies[client]
                continue
            if everything or tally.last_written is None or now - tally.last_written >= self.interval_s:
                out.extend(RefusalEvent(client, reason, n) for reason, n in sorted(tally.counts.items()))
                tally.counts, tally.last_written = {}, now
        return out

    def put_back(self, events: list[RefusalEvent]) -> None:
        """Events that could not be written (database down): counted again, written later."""
        for event in events:
            self.note(event.client, event.reason, event.count)
            self._tallies[event.client].last_written = None  # retried at the next tick

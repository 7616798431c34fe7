"""MLLP listener soak: stop-and-wait senders from one address, resending on NAK, for minutes at full speed.

A listener process with its default options (plaintext on loopback, as ``wardflow listen`` starts) lands into
a database made for this run (127.0.0.1:5432 when reachable, else a private embedded cluster). For each
connection count (``--connections``, default 8 and 32) the senders run for ``--minutes``, each sending its
next message as soon as the previous one is acknowledged, like an interface engine catching up after an
outage: about ``--resend-share`` of the messages are resends of messages sent before (so batches mix landed and
new messages, the traffic that wedged the first release), and a negative ACK is resent with back-off.

Per interval (``--interval``, default 60 s): acknowledged messages/s, NAKs by reason, p50/p99 ACK latency
(first send to positive ACK) and the listener's RSS. Then the listener's own counts (commit failures, session
resets, wedge rebuilds). Targets: zero commit failures with the database up, the last interval's throughput
≥ 90 % of the first, RSS flat (last interval ≤ 1.25 × the first). The last line is one JSON object.

    .venv/bin/python benchmarks/mllp_soak.py [--minutes 10] [--connections 8 32] [--interval 60] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psutil
from _database import bench_database, cpu_model  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from mllp import Listener, pcd01  # noqa: E402

from connectors.hl7.sender import POSITIVE, MllpConnection, ack_code_and_reason


class Interval:
    """What the senders saw in one interval."""

    def __init__(self) -> None:
        self.acked = 0
        self.naks: Counter = Counter()
        self.latencies: list[float] = []
        self.rss_mb = 0.0


async def _sender(port: int, deadline: float, tag: str, log: list[tuple[str, bytes]], resend_share: float,
                  record, rng: random.Random) -> None:
    conn = MllpConnection("127.0.0.1", port, None, 30.0)
    n = 0
    while time.monotonic() < deadline:
        if log and rng.random() < resend_share:
            cid, message = log[rng.randrange(len(log))]
        else:
            cid = f"{tag}{n:09d}"
            n += 1
            message = pcd01(cid)[1:-2]  # unframed
            log.append((cid, message))
        first, wait = time.monotonic(), 0.01
        while time.monotonic() < deadline + 30:
            try:
                if conn.writer is None:
                    await conn.open()
                code, reason = ack_code_and_reason(await conn.exchange(message))
            except (TimeoutError, OSError):
                conn.close()
                record(None, "connection lost", 0.0)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 0.5)
                continue
            if code in POSITIVE:
                record(True, "", time.monotonic() - first)
                break
            record(False, f"{code} {reason}".strip(), 0.0)
            await asyncio.sleep(wait * rng.uniform(0.5, 1.0))
            wait = min(wait * 2, 0.5)
    conn.close()


async def soak(port: int, pid: int, connections: int, seconds: float, interval_s: float,
               resend_share: float) -> list[Interval]:
    intervals: list[Interval] = []
    start = time.monotonic()
    proc = psutil.Process(pid)

    def current() -> Interval:
        k = int((time.monotonic() - start) // interval_s)
        while len(intervals) <= k:
            intervals.append(Interval())
        return intervals[k]

    def record(ok: bool | None, reason: str, latency: float) -> None:
        slot = current()
        if ok:
            slot.acked += 1
            slot.latencies.append(latency)
        else:
            slot.naks[reason] += 1

    async def sample_rss() -> None:
        while time.monotonic() < start + seconds:
            current().rss_mb = round(proc.memory_info().rss / 2**20, 1)
            await asyncio.sleep(1.0)

    deadline = start + seconds
    log: list[tuple[str, bytes]] = []
    tag = "S" + uuid.uuid4().hex[:5].upper()
    rng = random.Random(7)
    await asyncio.gather(sample_rss(), *(
        _sender(port, deadline, f"{tag}{k:02d}", log, resend_share, record, random.Random(rng.random()))
        for k in range(connections)))
    return [i for i in intervals[:int(seconds // interval_s)]]


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1]


def summarise(intervals: list[Interval], interval_s: float) -> list[dict]:
    return [{"interval": k, "acked_per_s": round(i.acked / interval_s), "naks": dict(i.naks),
             "p50_ms": round(percentile(i.latencies, 50) * 1000, 2),
             "p99_ms": round(percentile(i.latencies, 99) * 1000, 2), "rss_mb": i.rss_mb}
            for k, i in enumerate(intervals)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="per connection count")
    p.add_argument("--connections", type=int, nargs="+", default=[8, 32])
    p.add_argument("--interval", type=float, default=60.0, help="seconds per reported interval")
    p.add_argument("--resend-share", type=float, default=0.1)
    p.add_argument("--embedded", action="store_true", help="use a private embedded cluster even if 5432 answers")
    args = p.parse_args()
    out: dict = {"benchmark": "mllp_soak", "minutes": args.minutes, "interval_s": args.interval,
                 "resend_share": args.resend_share, "python": platform.python_version(), "cpus": os.cpu_count(),
                 "machine": {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": cpu_model(),
                             "load_avg_1m": round(os.getloadavg()[0], 2)}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="wardflow-soak-") as tmp, \
            bench_database(Path(tmp), embedded=args.embedded) as (env, where):
        out["server"] = where
        for connections in args.connections:
            listener = Listener(env, 5.0, Path(tmp), defaults=True)
            intervals = asyncio.run(soak(listener.port, listener.proc.pid, connections, args.minutes * 60,
                                         args.interval, args.resend_share))
            stats = listener.stop()
            rows = summarise(intervals, args.interval)
            run = {"connections": connections, "intervals": rows, "listener": {
                k: stats.get(k) for k in ("received", "landed", "duplicates", "commit_failures", "session_resets",
                                          "degraded", "refused_messages", "naks", "mean_batch_size")}}
            first, last = rows[0], rows[-1]
            run["last_over_first"] = round(last["acked_per_s"] / max(1, first["acked_per_s"]), 3)
            run["rss_last_over_first"] = round(last["rss_mb"] / max(1.0, first["rss_mb"]), 3)
            run["targets_met"] = {"zero_commit_failures": stats.get("commit_failures") == 0,
                                  "throughput_flat": run["last_over_first"] >= 0.9,
                                  "rss_flat": run["rss_last_over_first"] <= 1.25}
            out["runs"].append(run)
            for row in rows:
                print(f"{connections:3d} conns, interval {row['interval']:3d}: {row['acked_per_s']:7,d} msg/s acked, "
                      f"p50 {row['p50_ms']:6.2f} ms, p99 {row['p99_ms']:7.2f} ms, RSS {row['rss_mb']:6.1f} MB, "
                      f"NAKs {sum(row['naks'].values())}")
            print(f"{connections:3d} conns: commit failures {stats.get('commit_failures')}, session resets "
                  f"{stats.get('session_resets')}, rebuilds {stats.get('degraded')}, last/first "
                  f"{run['last_over_first']:.2f}, RSS last/first {run['rss_last_over_first']:.2f}")
    out["targets_met"] = all(all(r["targets_met"].values()) for r in out["runs"])
    print(json.dumps(out))
    sys.exit(0)


if __name__ == "__main__":
    main()

"""MLLP listener throughput and ACK latency: group commit against one commit per message.

A listener process (``python -m connectors.hl7.listener``) lands into a database made for this run (on
the PostgreSQL at 127.0.0.1:5432 as user postgres when reachable, else a private embedded cluster), with
a fresh WARDFLOW_HOME and master key; the database is dropped at the end. Clients run in this process:
``--connections`` MLLP connections, each sending its next message only after the ACK of the previous one.
Messages are IHE PCD-01 ORU^R01 v2.6 with 10 OBX (MSH-15 NE, MSH-16 AL: one application ACK each),
all with distinct control ids, so every one is landed.

1. closed loop, group commit (``--group-commit-ms``, default 5): acknowledged messages per second;
2. closed loop, ``group_commit_ms=0`` (one transaction and fsync per message): the same figure;
3. open loop at ``--rate`` messages/s (spread over the connections, group commit): p50/p99 ACK latency,
   measured from each message's scheduled send time (a late send counts as latency).

Prints one line per figure, then one JSON object on the last line.

    .venv/bin/python benchmarks/mllp.py [--messages 10000] [--per-message 1000] [--rate 1000 --seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from _database import bench_database, cpu_model  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from connectors.hl7.framing import frame

REPO = Path(__file__).resolve().parents[1]
END = b"\x1c\r"
VITALS = [("150456", "MDC_PULS_OXIM_SAT_O2", "97", "262688^MDC_DIM_PERCENT"),
          ("149530", "MDC_PULS_OXIM_PULS_RATE", "72", "264864^MDC_DIM_BEAT_PER_MIN"),
          ("147842", "MDC_ECG_HEART_RATE", "71", "264864^MDC_DIM_BEAT_PER_MIN"),
          ("150037", "MDC_PRESS_BLD_ART_ABP_SYS", "121", "266016^MDC_DIM_MMHG"),
          ("150038", "MDC_PRESS_BLD_ART_ABP_DIA", "78", "266016^MDC_DIM_MMHG"),
          ("150039", "MDC_PRESS_BLD_ART_ABP_MEAN", "92", "266016^MDC_DIM_MMHG"),
          ("151562", "MDC_RESP_RATE", "16", "264928^MDC_DIM_RESP_PER_MIN"),
          ("150344", "MDC_TEMP", "36.8", "268192^MDC_DIM_DEGC"),
          ("151708", "MDC_CONC_AWAY_CO2_ET", "38", "266016^MDC_DIM_MMHG"),
          ("150084", "MDC_PRESS_BLD_VEN_CENT_MEAN", "8", "266016^MDC_DIM_MMHG")]


def pcd01(control_id: str) -> bytes:
    """A synthetic PCD-01 ORU^R01 (made-up patient, 10 numeric OBX), framed for MLLP."""
    ts = "20261129120000+0800"
    segs = [f"MSH|^~\\&|DOR^0012340000000001^EUI-64|ICU-EAST|WARDFLOW|HOSP|{ts}||ORU^R01^ORU_R01|{control_id}|P|"
            "2.6|||NE|AL||UNICODE UTF-8",
            "PID|||BENCH0001^^^HOSP^MR||Bench^Patient||19700101|F",
            "PV1||I|ICU^01^BED07^HOSP",
            f"OBR|1|{control_id}^DOR|{control_id}^DOR|182777000^monitoring of patient^SNOMED-CT|||{ts}"]
    segs += [f"OBX|{n}|NM|{code}^{ref}^MDC|1.3.1.{code}|{value}|{unit}^MDC||||||R|||{ts}"
             for n, (code, ref, value, unit) in enumerate(VITALS, 1)]
    return frame(("\r".join(segs) + "\r").encode())


# -- database and listener --------------------------------------------------------------------------------
class Listener:
    """The listener as its own process; ``stop()`` sends SIGTERM and returns its final stats."""

    def __init__(self, env: dict[str, str], group_commit_ms: float, tmp: Path, *, defaults: bool = False) -> None:
        ready = tmp / f"ready-{uuid.uuid4().hex[:6]}.json"
        limits = [] if defaults else ["--max-connections-per-client", "0", "--max-messages-per-second-per-client", "0"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "connectors.hl7.listener", "--port", "0", "--ready-file", str(ready),
             "--group-commit-ms", str(group_commit_ms), *limits],
            cwd=REPO, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("listener did not start: " + self.proc.stderr.read().decode()[-2000:])
            time.sleep(0.05)
        self.port = json.loads(ready.read_text())["port"]

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=60)
        if self.proc.returncode != 0:
            raise RuntimeError(f"listener exited with {self.proc.returncode}")
        found = re.search(r"listener stopped: (\{.*\})", err.decode())
        return json.loads(found.group(1)) if found else {}


# -- clients ----------------------------------------------------------------------------------------------
async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: bytes) -> None:
    writer.write(message)
    ack = await reader.readuntil(END)
    code = ack.split(b"\r", 2)[1][4:6]
    if code not in (b"AA", b"CA"):
        raise RuntimeError(f"negative ACK {code.decode()}")


async def closed_loop(port: int, messages: list[bytes], connections: int) -> float:
    """Send everything over ``connections`` stop-and-wait connections; returns acknowledged messages/s."""
    async def one(share: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for message in share:
            await _exchange(reader, writer, message)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(messages[i::connections]) for i in range(connections)))
    return len(messages) / (time.perf_counter() - started)


async def open_loop(port: int, messages: list[bytes], connections: int, rate: float) -> list[float]:
    """Offer ``rate`` messages/s in total; returns each ACK's latency (s) from its scheduled send time."""
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(k: int, share: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for j, message in enumerate(share):
            due = start + (j * connections + k) / rate
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            await _exchange(reader, writer, message)
            latencies.append(loop.time() - due)
        writer.close()

    await asyncio.gather(*(one(k, messages[k::connections]) for k in range(connections)))
    return latencies


def messages(n: int, tag: str) -> list[bytes]:
    return [pcd01(f"{tag}{i:08d}") for i in range(n)]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else values[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=10000, help="closed loop, group commit")
    p.add_argument("--per-message", type=int, default=1000, help="closed loop, one commit per message")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--group-commit-ms", type=float, default=5.0)
    p.add_argument("--rate", type=float, default=1000.0)
    p.add_argument("--seconds", type=float, default=5.0, help="length of the fixed-rate run")
    p.add_argument("--embedded", action="store_true", help="use a private embedded cluster even if 5432 answers")
    args = p.parse_args()
    out: dict = {"benchmark": "mllp_listener", "connections": args.connections, "obx_per_message": 10,
                 "python": platform.python_version(), "cpus": os.cpu_count(),
                 "machine": {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": cpu_model(),
                             "load_avg_1m": round(os.getloadavg()[0], 2)}}
    with tempfile.TemporaryDirectory(prefix="wardflow-bench-") as tmp, \
            bench_database(Path(tmp), embedded=args.embedded) as (env, where):
        out["server"] = where
        for label, window, n in (("group", args.group_commit_ms, args.messages), ("per_message", 0.0, args.per_message)):
            listener = Listener(env, window, Path(tmp))
            asyncio.run(closed_loop(listener.port, messages(200, f"W{label[0]}"), args.connections))  # warm-up
            rate = asyncio.run(closed_loop(listener.port, messages(n, f"B{label[0]}"), args.connections))
            stats = listener.stop()
            out[f"{label}_commit"] = {"group_commit_ms": window, "messages": n, "acked_per_s": round(rate),
                                      "commits": stats.get("commits"), "inline_commits": stats.get("inline_commits"),
                                      "mean_batch": stats.get("mean_batch_size"),
                                      "mean_commit_ms": stats.get("mean_commit_ms")}
            print(f"{label:12s} commit (window {window:g} ms): {rate:9,.0f} msg/s acknowledged, "
                  f"{stats.get('commits')} commits, mean batch {stats.get('mean_batch_size')}, "
                  f"{stats.get('mean_commit_ms')} ms per commit")
        out["ratio_group_over_per_message"] = round(out["group_commit"]["acked_per_s"]
                                                    / out["per_message_commit"]["acked_per_s"], 2)
        print(f"group / per-message: {out['ratio_group_over_per_message']:.2f}x")
        listener = Listener(env, args.group_commit_ms, Path(tmp))
        lat = asyncio.run(open_loop(listener.port, messages(int(args.rate * args.seconds), "R"),
                                    args.connections, args.rate))
        fixed = listener.stop()
        p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
        out["fixed_rate"] = {"offered_per_s": args.rate, "messages": len(lat), "p50_ms": round(p50, 2),
                             "p99_ms": round(p99, 2), "max_ms": round(max(lat) * 1000, 2),
                             "mean_batch": fixed.get("mean_batch_size"), "mean_commit_ms": fixed.get("mean_commit_ms")}
        print(f"at {args.rate:,.0f} msg/s offered: ACK latency p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
              f"max {max(lat) * 1000:.2f} ms")
    out["targets_met"] = {"throughput_5000": out["group_commit"]["acked_per_s"] >= 5000,
                          "group_beats_per_message": out["ratio_group_over_per_message"] > 1,
                          "p99_25ms_at_1000": out["fixed_rate"]["p99_ms"] <= 25}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

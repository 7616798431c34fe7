"""HL7 v2 file ingest, end to end, against the landing limit of the same PostgreSQL, in one run.

Messages: ORU^R01 v2.6 (IHE PCD-01) with exactly 10 OBX each, from the synthetic bedside monitors
(`connectors.synthetic.generate(..., notes=False)`), ~62,000 by default. Measured on the same messages:

  (a) wardflow: `connectors.ingest.ingest_paths` over the monitor files (split, parse, fingerprint,
      encrypt the payload, and the document where staging cannot build it from the payload; COPY, dedup,
      commit every 2,000 messages)
  (b) landing limit: binary COPY of the same messages, raw bytes + routing columns prepared in memory
      beforehand (no parsing, no encryption), into a table like landing.hl7_messages (same indexes and
      dedup key; no `doc`), committed every 2,000 rows
  (b2) for information, not a target: binary COPY of exactly the rows (a) lands — routing, fingerprint and
      the sealed payload and document (if any), prepared beforehand — into a table with landing.hl7_messages'
      storage settings: what PostgreSQL needs for wardflow's own (encrypted) rows
  (c) a python-hl7 loader: `hl7.parse`, the same routing fields, the document as orjson of the parsed
      message, sealed with the same Sealer and binary-COPYed in 2,000-row transactions (on a sample)
  (d) hl7apy: `parse_message(..., find_groups=False)` only, on a 500-message sample, extrapolated

The Python side runs on one thread; PostgreSQL runs in its own processes. Each figure is wall-clock
messages per second (best of --repeat runs for (a) and (b)), with the CPU seconds of this process and of
the PostgreSQL backend beside it. `--big` adds peak RSS of `ingest_paths` in a fresh process for a
~128 MB file and a ~1 GB file (the same messages repeated with distinct control ids).

Creates its own database (127.0.0.1:5432 as postgres if reachable, else the embedded cluster), a temporary
WARDFLOW_HOME and a random master key, and drops them at the end. The last line is one JSON object.

    .venv/bin/python benchmarks/hl7_ingest.py [--devices 48] [--repeat 3] [--hl7-sample 10000] [--big]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
from _database import bench_database, cpu_model  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

BATCH = 2000
COLUMNS = ("batch_id, source_kind, sender, receiver, message_type, trigger_event, message_structure, control_id, "
           "version, charset, payload_bytes, content_hmac, key_version, payload, doc")
TYPES = ["uuid"] + ["text"] * 9 + ["int4", "bytea", "int4", "bytea", "bytea"]
TARGET_RATE, TARGET_RATIO, TARGET_RSS_MB = 10_000, 0.4, 300


@dataclass
class Figure:
    """One measurement: messages in `wall` seconds; CPU seconds of this process and of the backend."""

    name: str
    messages: int
    wall: float
    python_cpu: float
    server_cpu: float | None = None
    runs: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.wall

    @property
    def python_rate(self) -> float:
        """Messages per CPU second of the Python process: what one core does when it never waits."""
        return self.messages / self.python_cpu if self.python_cpu else float("inf")

    def as_dict(self) -> dict:
        return {"messages": self.messages, "seconds": round(self.wall, 3), "msgs_per_s": round(self.rate),
                "python_cpu_s": round(self.python_cpu, 3), "msgs_per_python_cpu_s": round(self.python_rate),
                "server_cpu_s": None if self.server_cpu is None else round(self.server_cpu, 3),
                "runs_msgs_per_s": [round(r) for r in self.runs]}


def backend_cpu(conn: psycopg.Connection) -> float | None:
    """CPU seconds used so far by the server process behind `conn` (None if it is not on this machine)."""
    try:
        fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def timed(name: str, messages: int, conn: psycopg.Connection, fn: Callable[[], object]) -> Figure:
    server0, cpu0, wall0 = backend_cpu(conn), time.process_time(), time.perf_counter()
    fn()
    wall, cpu, server1 = time.perf_counter() - wall0, time.process_time() - cpu0, backend_cpu(conn)
    server = server1 - server0 if server0 is not None and server1 is not None else None
    return Figure(name, messages, wall, cpu, server, [messages / wall])


def one(conn: psycopg.Connection, query: str) -> object:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def best(figures: list[Figure]) -> Figure:
    top = min(figures, key=lambda f: f.wall)
    top.runs = [f.rate for f in figures]
    return top


def fresh_table(admin: psycopg.Connection, name: str, storage: bool = False) -> None:
    """A table like landing.hl7_messages (identity, defaults, indexes, dedup key), writable by the pipeline.
    Column storage is left at PostgreSQL's default (unless `storage`: then column storage and table storage
    parameters are landing.hl7_messages' own) so that (b) gets plaintext compressed in line."""
    admin.execute(f"drop table if exists bench.{name}; create table bench.{name} "
                  f"(like landing.hl7_messages including all {'' if storage else 'excluding storage'}); "
                  f"alter table bench.{name} add unique (sender, control_id, content_hmac); "
                  f"grant insert, select on bench.{name} to wardflow_pipeline")
    if storage:  # LIKE copies column storage, not the table's storage parameters
        options = one(admin, "select reloptions from pg_class where oid = 'landing.hl7_messages'::regclass")
        if options:
            admin.execute(f"alter table bench.{name} set ({', '.join(options)})")


def checkpoint(admin: psycopg.Connection) -> None:
    """Start each timed run from the same WAL state (best effort: needs superuser or pg_checkpoint)."""
    try:
        admin.execute("checkpoint")
    except psycopg.Error:
        pass


# -- messages -------------------------------------------------------------------------------------------
def generate_monitors(out: Path, devices: int) -> tuple[Path, list[bytes]]:
    from connectors.hl7.split import split_messages
    from connectors.synthetic import generate

    generate(out, patients=devices * 5 // 3, days=1, devices=devices, seed=11, obs_interval_minutes=1,
             notes=False)
    folder = out / "hl7" / "monitors"
    messages = [p.data for f in sorted(folder.iterdir()) for p in split_messages(f.read_bytes())
                if p.kind == "message"]
    obx = {m.count(b"\rOBX|") for m in messages}
    if obx != {10}:
        raise SystemExit(f"expected exactly 10 OBX per message, found {sorted(obx)}")
    return folder, messages


def routing(raw: bytes) -> tuple[str, ...]:
    """MSH routing columns by splitting the first line (enough for these clean messages; not a parser)."""
    f = raw[:raw.find(b"\r")].decode().split("|")
    t = f[8].split("^") + ["", ""]
    return f"{f[2]}|{f[3]}", f"{f[4]}|{f[5]}", t[0], t[1], t[2], f[9], f[11], "utf-8"


def copy_rows(conn: psycopg.Connection, table: str, rows: list[tuple]) -> None:
    for start in range(0, len(rows), BATCH):
        with conn.cursor().copy(f"copy {table} ({COLUMNS}) from stdin (format binary)") as copy:
            copy.set_types(TYPES)
            for row in rows[start:start + BATCH]:
                copy.write_row(row)
        conn.commit()


def python_hl7_loader(conn: psycopg.Connection, ring, messages: list[bytes]) -> None:
    """A straightforward loader on python-hl7: parse, route, document, fingerprint, seal, COPY."""
    import hl7

    from connectors.crypto import Fingerprinter, Sealer

    sealer, fingerprint, batch = Sealer(ring), Fingerprinter(ring), uuid.uuid4()
    for start in range(0, len(messages), BATCH):
        rows = []
        for raw in messages[start:start + BATCH]:
            msg = hl7.parse(raw.decode("utf-8"))
            msh = msg.segment("MSH")
            mtype = [str(c) for c in msh[9][0]] + ["", ""] if isinstance(msh[9][0], list) else [str(msh[9]), "", ""]
            rows.append((batch, "bench", f"{msh[3]}|{msh[4]}", f"{msh[5]}|{msh[6]}", mtype[0], mtype[1], mtype[2],
                         str(msh[10]), str(msh[12]), "utf-8", len(raw), fingerprint.content(raw), sealer.version,
                         sealer.seal(raw), sealer.seal(orjson.dumps(msg))))
        with conn.cursor().copy(f"copy bench.python_hl7 ({COLUMNS}) from stdin (format binary)") as copy:
            copy.set_types(TYPES)
            for row in rows:
                copy.write_row(row)
        conn.commit()


def hl7apy_parse(messages: list[bytes]) -> None:
    from hl7apy.parser import parse_message

    for raw in messages:
        parse_message(raw.decode("utf-8"), find_groups=False)


# -- measurements ---------------------------------------------------------------------------------------
def limit_run(admin: psycopg.Connection, conn: psycopg.Connection, ring, messages: list[bytes]) -> Figure:
    """(b): rows prepared before the clock starts (and freed before (a) runs)."""
    from connectors.crypto import Fingerprinter

    fp, batch = Fingerprinter(ring), uuid.uuid4()
    rows = [(batch, "bench", *routing(m), len(m), fp.content(m), ring.current, m, None) for m in messages]
    fresh_table(admin, "copy_limit")
    checkpoint(admin)
    return timed("b", len(rows), conn, lambda: copy_rows(conn, "bench.copy_limit", rows))


def landed_rows_run(admin: psycopg.Connection, conn: psycopg.Connection, ring, messages: list[bytes]) -> Figure:
    """(b2): the rows (a) lands, sealed before the clock starts, COPYed as (b) is."""
    from connectors.crypto import Fingerprinter, Sealer
    from connectors.hl7.parse import parse_message

    fp, sealer, batch = Fingerprinter(ring), Sealer(ring), uuid.uuid4()
    parsed = [parse_message(m) for m in messages]
    rows = [(batch, "bench", *routing(m), len(m), fp.content(m), sealer.version, sealer.seal(m),
             None if p.sql_document else sealer.seal(p.doc_json())) for m, p in zip(messages, parsed, strict=True)]
    fresh_table(admin, "copy_landed", storage=True)
    checkpoint(admin)
    return timed("b2", len(rows), conn, lambda: copy_rows(conn, "bench.copy_landed", rows))


def measure(settings, ring, folder: Path, messages: list[bytes], args: argparse.Namespace) -> dict[str, Figure]:
    from connectors.ingest import ingest_paths
    from orchestration.warehouse.database import connect

    n, figures = len(messages), {}
    with connect(settings, "admin", autocommit=True) as admin, connect(settings, "pipeline") as conn:
        admin.execute("create schema if not exists bench; grant usage on schema bench to wardflow_pipeline")
        a_runs, b_runs = [], []
        for _ in range(args.repeat):
            b_runs.append(limit_run(admin, conn, ring, messages))
            admin.execute("truncate landing.hl7_messages, landing.ingest_batches")
            checkpoint(admin)
            a_runs.append(timed("a", n, conn, lambda: ingest_paths([folder], conn, ring)))
            landed = one(conn, "select count(*) from landing.hl7_messages")
            conn.commit()
            if landed != n:
                raise SystemExit(f"(a) landed {landed} of {n} messages")
        figures["a"], figures["b"] = best(a_runs), best(b_runs)
        figures["b2"] = best([landed_rows_run(admin, conn, ring, messages) for _ in range(args.repeat)])
        admin.execute("drop table bench.copy_landed")
        sample = messages[:args.hl7_sample] if args.hl7_sample else messages
        fresh_table(admin, "python_hl7")
        checkpoint(admin)
        figures["c"] = timed("c", len(sample), conn, lambda: python_hl7_loader(conn, ring, sample))
        figures["d"] = timed("d", min(500, n), conn, lambda: hl7apy_parse(messages[:500]))
    return figures


# -- memory (--big) -------------------------------------------------------------------------------------
def with_control_id(raw: bytes, suffix: bytes) -> bytes:
    """The message with `suffix` appended to MSH-10 (a distinct message for the dedup key)."""
    end = raw.find(b"\r")
    fields = raw[:end].split(b"|")
    fields[9] += suffix
    return b"|".join(fields) + raw[end:]


def write_repeated(path: Path, messages: list[bytes], target_bytes: int, tag: bytes) -> int:
    count, written, rep = 0, 0, 0
    with path.open("wb") as out:
        while written < target_bytes:
            suffix = tag + str(rep).encode()
            for raw in messages:
                data = with_control_id(raw, suffix) + b"\r\n"
                out.write(data)
                written += len(data)
                count += 1
                if written >= target_bytes:
                    break
            rep += 1
    return count


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: Linux carries that across exec, so a
    child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_ingest(path: Path) -> None:
    """Run in a fresh process: ingest one file, print peak RSS as JSON."""
    from connectors.crypto import load_keyring
    from connectors.ingest import ingest_paths
    from connectors.settings import load_settings
    from orchestration.warehouse.database import connect

    settings = load_settings()
    ring = load_keyring(settings)
    before = memory_mb("VmRSS")
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([path], conn, ring)
    peak = memory_mb("VmHWM")
    print(json.dumps({"bytes": path.stat().st_size, "messages": report.counts.landed, "seconds": round(report.seconds, 2),
                      "msgs_per_s": round(report.counts.landed / report.seconds), "rss_before_mb": round(before, 1),
                      "peak_rss_mb": round(peak, 1)}))


def measure_memory(work: Path, messages: list[bytes], big_bytes: int) -> dict:
    results = {}
    for label, size, tag in (("128MB", 128 << 20, b"S"), ("big", big_bytes, b"B")):
        path = work / f"repeated_{label}.hl7"
        count = write_repeated(path, messages, size, tag)
        out = subprocess.run([sys.executable, __file__, "--child-ingest", str(path)], check=True,
                             capture_output=True, text=True, env=os.environ.copy())
        results[label] = json.loads(out.stdout.strip().splitlines()[-1])
        results[label]["file_messages"] = count
        path.unlink()
    return results


# -- report ---------------------------------------------------------------------------------------------
def machine(where: str, url: str) -> dict:
    with psycopg.connect(url) as conn:
        version = one(conn, "show server_version")
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": platform.processor() or
            cpu_model(), "nproc": os.cpu_count(), "python": platform.python_version(),
            "postgresql": version, "server": where, "load_avg_1m": round(os.getloadavg()[0], 2)}


def report(figures: dict[str, Figure], memory: dict | None, info: dict) -> dict:
    labels = {"a": "(a) wardflow ingest_paths", "b": "(b) COPY limit (raw + routing)",
              "b2": "(b2) COPY of the landed rows", "c": "(c) python-hl7 loader", "d": "(d) hl7apy parse only"}
    base = figures["b"].rate
    for key, fig in figures.items():
        server = "" if fig.server_cpu is None else f"  server cpu {fig.server_cpu:6.2f} s"
        print(f"{labels[key]:31s} {fig.messages:7,d} msgs {fig.wall:7.2f} s {fig.rate:9,.0f} msg/s"
              f" {fig.rate / base:6.3f} of (b) | python cpu {fig.python_cpu:6.2f} s"
              f" ({fig.python_rate:,.0f} msg/cpu-s){server}")
    a = figures["a"].rate
    print(f"(a) / (b2), for information: {a / figures['b2'].rate:.3f} (the target is on (b))")
    print(f"load average (1 min) during the run: {info['load_avg_1m']} on {info['nproc']} CPUs")
    targets = {"a_msgs_per_s_ge_10000": a >= TARGET_RATE, "a_over_b_ge_0_4": a / base >= TARGET_RATIO}
    if memory:
        for m in memory.values():
            print(f"peak RSS, ingest of {m['bytes'] / 2**20:,.0f} MB ({m['messages']:,d} msgs): {m['peak_rss_mb']:.0f} MB"
                  f" (after imports {m['rss_before_mb']:.0f} MB), {m['msgs_per_s']:,d} msg/s")
        targets["peak_rss_le_300mb"] = all(m["peak_rss_mb"] <= TARGET_RSS_MB for m in memory.values())
    print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT MET'}" for k, v in targets.items()))
    return {"benchmark": "hl7_ingest", "machine": info, "message": "ORU^R01 v2.6 PCD-01, 10 OBX",
            "python_threads": threading.active_count(), **{k: f.as_dict() for k, f in figures.items()},
            "ratios_to_b": {k: round(f.rate / base, 3) for k, f in figures.items()}, "memory": memory,
            "targets": targets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=48, help="bedside monitors (48 → ~62,000 messages)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) and (b); the best is reported")
    parser.add_argument("--hl7-sample", type=int, default=10_000, help="messages for (c); 0 = all")
    parser.add_argument("--big", action="store_true", help="also measure peak RSS on a ~1 GB file (slow)")
    parser.add_argument("--big-gb", type=float, default=1.0, help="size of the --big file")
    parser.add_argument("--child-ingest", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_ingest:
        child_ingest(args.child_ingest)
        return
    with tempfile.TemporaryDirectory(prefix="wardflow-bench-") as tmp:
        work = Path(tmp)
        print(f"generating messages under {work} ...", flush=True)
        folder, messages = generate_monitors(work / "gen", args.devices)
        with bench_database(work) as (env, where):
            os.environ.update(env)  # the --big child ingests read it
            from connectors.crypto import load_keyring
            from connectors.settings import load_settings

            settings = load_settings()
            ring = load_keyring(settings)
            url = env["WARDFLOW_DATABASE_URL"]
            print(f"{len(messages):,d} messages, {sum(map(len, messages)) / 2**20:,.0f} MB; database on {where}",
                  flush=True)
            figures = measure(settings, ring, folder, messages, args)
            memory = measure_memory(work, messages, int(args.big_gb * 2**30)) if args.big else None
            result = report(figures, memory, machine(where, url))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Fuzz job: ≥ 10,000 seeded mutants of HL7 v2 and FHIR, ingested in rounds, a whole pipeline run after each.

Mutants come from connectors/synthetic/mutants.py, seeded from ../shared/corpus and a small generated hospital.
Each round writes its mutants as files, ingests them (`ingest_paths`: every file lands or is rejected with a
reason) and runs the whole pipeline once (`run_everything`). The figures: mutants, landed, duplicates, rejected,
files that raised (must be 0), builds passed out of builds run, and the rules that rejected most. Uses
127.0.0.1:5432 when it answers, else (or with --embedded) the embedded cluster, on a database of its own.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _seeds(work: Path) -> tuple[list[bytes], list[dict]]:
    from connectors.hl7.split import split_messages
    from connectors.synthetic import generate
    from connectors.synthetic.mutants import fhir_seeds, hl7_seeds

    out = work / "synthetic"
    generate(out, patients=20, days=1, devices=4, seed=3)
    hl7 = [p.data for f in sorted(out.rglob("*.hl7")) for p in split_messages(f.read_bytes()) if p.kind == "message"]
    fhir = [e["resource"] for f in sorted(out.rglob("*.json")) for e in json.loads(f.read_bytes()).get("entry", [])]
    corpus = CORPUS if CORPUS.is_dir() else None
    return hl7_seeds(corpus, hl7[:200]), fhir_seeds(corpus, fhir[:200])


def run(mutant_count: int, rounds: int, seed: int, embedded: bool) -> dict:
    from benchmarks._database import bench_database
    from connectors.crypto import load_keyring
    from connectors.ingest import ingest_paths
    from connectors.settings import load_settings
    from connectors.synthetic.mutants import mutants
    from orchestration.warehouse.database import connect

    figures = collections.Counter()
    rules: collections.Counter = collections.Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wardflow-fuzz-") as tmp:
        work = Path(tmp)
        hl7, fhir = _seeds(work)
        all_mutants = list(mutants(hl7, fhir, mutant_count, seed))
        with bench_database(work, embedded=embedded) as (env, where):
            os.environ.update(env)
            settings = load_settings(env)
            ring = load_keyring(settings)
            per_round = -(-len(all_mutants) // rounds)
            for r in range(rounds):
                folder = work / f"round{r}"
                folder.mkdir()
                for mutant in all_mutants[r * per_round:(r + 1) * per_round]:
                    (folder / mutant.name).write_bytes(mutant.data)
                    figures["mutants"] += 1
                    figures[f"{mutant.kind}_mutants"] += 1
                _ingest_round(folder, settings, ring, figures, ingest_paths, connect)
                _build_round(settings, figures)
                print(f"round {r + 1}/{rounds}: {dict(figures)}", flush=True)
            with connect(settings, "pipeline") as conn:
                rules.update(dict(conn.execute("select rule, count(*) from landing.rejected group by rule")))
    return {"benchmark": "fuzz", "where": where, "seed": seed, **figures,
            "top_rules": dict(rules.most_common(12)), "seconds": round(time.perf_counter() - started, 1)}


def _ingest_round(folder, settings, ring, figures, ingest_paths, connect) -> None:
    try:
        with connect(settings, "pipeline") as conn:
            report = ingest_paths([folder], conn, ring)
    except Exception as exc:  # a mutant that breaks ingest is the finding this job exists for
        figures["ingest_errors"] += 1
        print(f"ingest raised {type(exc).__name__}", flush=True)
        return
    figures["landed"] += report.counts.landed
    figures["duplicates"] += report.counts.duplicates
    figures["rejected"] += report.counts.rejected


def _build_round(settings, figures) -> None:
    from orchestration.runner import run_everything

    outcome = run_everything(settings, dbt_log=settings.home / "dbt.log")
    figures["builds_run"] += 1
    figures["builds_passed"] += int(outcome.ok)
    if not outcome.ok:
        print(f"build failed: steps {outcome.failed_steps}, "
              f"blocking checks {[c['check'] for c in outcome.blocking_failures]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="ingest + whole pipeline run, this many times")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--embedded", action="store_true", help="use the embedded cluster even if 5432 answers")
    args = parser.parse_args()
    result = run(args.mutants, args.rounds, args.seed, args.embedded)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

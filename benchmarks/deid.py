"""De-identification: recall and precision per class on the shipped evaluation set (dev, heldout, a
freshly generated held-out set and the blind split, each reported on its own), side by side with Presidio's
pattern recognizers; throughput on ~200-character notes (one core, notes per CPU second, ours and Presidio's
on the same notes in the same process, each warmed up; Presidio with its pattern recognizers alone and with
its phone recognizer too); memory after
scrubbing 10 k and 50 k notes (flat means no growth with volume). No database.

    .venv/bin/python benchmarks/deid.py [--notes 20000] [--seconds 3]

Presidio is measured when installed (`make bench-deps`). Prints one line per figure, then one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# This script is named like the package it measures: import the package, not the script itself.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from connectors.privacy import detect  # noqa: E402
from deid import KnownValues, scrub  # noqa: E402
from deid.evalgen import generate  # noqa: E402
from deid.evaluation import evaluate  # noqa: E402


def notes(count: int, seed: int = 7) -> list[str]:
    """~200-character notes: held-out sentences glued until each reaches 200 characters."""
    rng = random.Random(seed)
    pool = [r["text"] for r in generate("heldout", seed, 600)] + [r["text"] for r in generate("dev", seed, 600)]
    out = []
    for _ in range(count):
        text = ""
        while len(text) < 200:
            text += rng.choice(pool)
        out.append(text[:200])
    return out


def rate(fn, texts: list[str], seconds: float) -> float:
    """Notes per CPU second of this process (one core), best of repeated passes within ``seconds`` after one
    warm-up pass: CPU time, not wall time, because the machine may be shared."""
    for text in texts:
        fn(text)
    best = 0.0
    deadline = time.process_time() + seconds
    while True:
        started = time.process_time()
        for text in texts:
            fn(text)
        best = max(best, len(texts) / max(time.process_time() - started, 1e-9))
        if time.process_time() > deadline:
            return best


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(count_small: int, count_big: int) -> dict:
    known = KnownValues.build([("欧阳娜娜", "name"), ("110105196105121221", "id"), ("13800138000", "phone")])
    texts = notes(2000, seed=11)
    out = {}
    for count in (count_small, count_big):
        for k in range(count):
            scrub(texts[k % len(texts)], known, 17)
        gc.collect()
        out[f"max_rss_mb_after_{count}"] = round(rss_mb(), 1)
    return out


def throughput(texts: list[str], seconds: float) -> dict:
    """Ours and Presidio's on the same notes, in this process, each warmed up first; the ratio against
    Presidio's pattern recognizers alone and against them plus its phonenumbers-based phone recognizer."""
    from deid.presidio_baseline import predictor

    known = KnownValues.build([("欧阳娜娜", "name"), ("110105196105121221", "id"), ("13800138000", "phone")])
    figures = {"notes": len(texts), "ours_notes_per_s": round(rate(scrub, texts, seconds)),
               "ours_with_known_notes_per_s": round(rate(lambda t: scrub(t, known, 17), texts, seconds)),
               "scan_detectors_notes_per_s": round(rate(detect, texts, seconds))}  # `wardflow scan`'s detectors
    patterns, with_phone = predictor(phone=False), predictor(phone=True)
    if patterns is not None and with_phone is not None:
        figures["presidio_patterns_notes_per_s"] = round(rate(patterns, texts, seconds))
        figures["presidio_patterns_and_phone_notes_per_s"] = round(rate(with_phone, texts, seconds))
        figures["ratio_to_presidio_patterns"] = round(figures["ours_notes_per_s"]
                                                      / figures["presidio_patterns_notes_per_s"], 2)
        figures["ratio_to_presidio_patterns_and_phone"] = round(figures["ours_notes_per_s"]
                                                                / figures["presidio_patterns_and_phone_notes_per_s"], 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=1000, help="notes per throughput pass (the same for all)")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    result = evaluate("all", presidio=True)
    for split, scores in result["splits"].items():
        for who, s in scores.items():
            per = " ".join(f"{c}={v['recall']}/{v['precision']}" for c, v in s["classes"].items())
            print(f"{split:14} {who:9} recall {s['recall']} precision {s['precision']}  {per}")
    print(f"clinical vocabulary untouched {result['clinical_vocabulary']['rate']}")
    figures = throughput(notes(args.notes), args.seconds)
    for key, value in figures.items():
        print(f"{key:28} {value}")
    mem = memory(10_000, 50_000)
    print(f"memory {mem}")
    print(json.dumps({"benchmark": "deid", "date": datetime.now(UTC).date().isoformat(),
                      "machine": f"{platform.machine()} {platform.processor() or ''} {platform.python_version()}",
                      "presidio": result["presidio"], "splits": {k: {w: {"recall": s["recall"],
                      "precision": s["precision"], "classes": s["classes"]} for w, s in v.items()}
                      for k, v in result["splits"].items()},
                      "clinical_vocabulary_rate": result["clinical_vocabulary"]["rate"], "failures": result["failures"],
                      "blind_below_target": result["blind_below_target"],
                      **figures, **mem}))


if __name__ == "__main__":
    main()

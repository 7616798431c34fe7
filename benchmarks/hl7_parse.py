"""Parse rate of the wardflow HL7 v2 tokenizer against python-hl7 and hl7apy.

The message is an IHE PCD-01 ORU^R01 (v2.6) from a bedside monitor with 10 numeric OBX, built here.
Also measured: parse + document JSON (what landing stores) and file splitting. Prints one line per
measurement, then one JSON line with every rate (messages per second, one core, best of several runs).

    .venv/bin/python benchmarks/hl7_parse.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable

from connectors.hl7.parse import parse_message
from connectors.hl7.split import split_messages

VITALS = [  # MDC code, reference id, value, unit code, unit reference id, range
    ("150456", "MDC_PULS_OXIM_SAT_O2", "97", "262688", "MDC_DIM_PERCENT", "90-100"),
    ("149530", "MDC_PULS_OXIM_PULS_RATE", "72", "264864", "MDC_DIM_BEAT_PER_MIN", "50-120"),
    ("147842", "MDC_ECG_HEART_RATE", "71", "264864", "MDC_DIM_BEAT_PER_MIN", "50-120"),
    ("150037", "MDC_PRESS_BLD_ART_ABP_SYS", "121", "266016", "MDC_DIM_MMHG", "90-140"),
    ("150038", "MDC_PRESS_BLD_ART_ABP_DIA", "78", "266016", "MDC_DIM_MMHG", "60-90"),
    ("150039", "MDC_PRESS_BLD_ART_ABP_MEAN", "92", "266016", "MDC_DIM_MMHG", "70-105"),
    ("151562", "MDC_RESP_RATE", "16", "264928", "MDC_DIM_RESP_PER_MIN", "8-25"),
    ("150344", "MDC_TEMP", "36.8", "268192", "MDC_DIM_DEGC", "36-38"),
    ("151708", "MDC_CONC_AWAY_CO2_ET", "38", "266016", "MDC_DIM_MMHG", "35-45"),
    ("150084", "MDC_PRESS_BLD_VEN_CENT_MEAN", "8", "266016", "MDC_DIM_MMHG", "2-12"),
]


def pcd01(i: int = 1) -> bytes:
    """One PCD-01 ORU^R01 with 10 OBX, CR-terminated, like an IHE device observation reporter sends."""
    ts = "20261129120000+0800"
    device = "0012340000000001^^0012340000000001^EUI-64"
    segments = [
        f"MSH|^~\\&|DOR^0012340000000001^EUI-64|ICU-EAST|WARDFLOW^HOSP^L|HOSP|{ts}||ORU^R01^ORU_R01|"
        f"DOR{i:010d}|P|2.6|||NE|AL||UNICODE UTF-8|EN^English^ISO639||"
        "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        "PID|||12345678^^^HOSP^MR||Doe^John^A^^^^L||19700101|M",
        "PV1||I|ICU^01^BED07^HOSP",
        f"OBR|1|DOR{i:010d}^DOR^0012340000000001^EUI-64|DOR{i:010d}^DOR^0012340000000001^EUI-64|"
        f"182777000^monitoring of patient^SNOMED-CT|||{ts}|{ts}",
    ]
    for n, (code, ref, value, unit, unit_ref, rng) in enumerate(VITALS, 1):
        segments.append(f"OBX|{n}|NM|{code}^{ref}^MDC|1.3.1.{code}|{value}|{unit}^{unit_ref}^MDC|{rng}"
                        f"||||R|||{ts}||||{device}")
    return ("\r".join(segments) + "\r").encode()


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per CPU second of this process (time spent descheduled on a busy machine is not counted),
    best of five runs of about ``seconds`` / 5 each."""
    clock = time.process_time
    fn()
    n, start = 1, clock()
    while clock() - start < 0.05:
        fn()
        n += 1
    per_run = max(1, int(n / (clock() - start) * seconds / 5))
    best = float("inf")
    for _ in range(5):
        start = clock()
        for _ in range(per_run):
            fn()
        best = min(best, (clock() - start) / per_run)
    return 1.0 / best


def calibration() -> float:
    """Microseconds for a 1000-step Python loop: tells a loaded machine from a slow tokenizer."""
    def loop() -> None:
        total = 0
        for i in range(1000):
            total += i
    return 1e6 / rate(loop, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time budget per measurement")
    args = parser.parse_args()
    raw = pcd01()
    text = raw.decode()
    rates = {
        "wardflow_parse": rate(lambda: parse_message(raw), args.seconds),
        "wardflow_parse_doc_json": rate(lambda: parse_message(raw).doc_json(), args.seconds),
        "wardflow_parse_segments": rate(lambda: parse_message(raw).segments, args.seconds),
    }
    batch = b"\n".join(pcd01(i) for i in range(1000))
    rates["wardflow_split"] = 1000 * rate(lambda: sum(1 for _ in split_messages(batch)), args.seconds)
    try:
        import hl7  # python-hl7, for comparison only
        rates["python_hl7_parse"] = rate(lambda: hl7.parse(text), args.seconds)
    except ImportError:
        print("python-hl7 not installed: skipped")
    try:
        from hl7apy.parser import parse_message as hl7apy_parse
        rates["hl7apy_parse"] = rate(lambda: hl7apy_parse(text, find_groups=False), args.seconds / 2)
    except ImportError:
        print("hl7apy not installed: skipped")
    for name, value in rates.items():
        print(f"{name:28s} {value:12,.0f} msg/s   {1e6 / value:9.1f} µs/msg")
    print(json.dumps({
        "benchmark": "hl7_parse", "message": "PCD-01 ORU^R01 v2.6, 10 OBX", "bytes": len(raw),
        "python": platform.python_version(), "calibration_us_per_1000_loop": round(calibration(), 2),
        "msgs_per_s": {k: round(v) for k, v in rates.items()},
    }))


if __name__ == "__main__":
    main()

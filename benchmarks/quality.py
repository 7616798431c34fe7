"""Quality suites over ~1,000,000 vital signs: every expectation run by Great Expectations end to end (its
import, context, data source and result handling included) against the limit, the same checks as one plain
SQL query per expectation on one connection.

    WARDFLOW_HOME=… .venv/bin/python benchmarks/quality.py --scratch [--rows 1000000]

It runs on the database of WARDFLOW_HOME / WARDFLOW_DATABASE_URL, which must hold a built pipeline (`wardflow
demo`, or `wardflow ingest` + `wardflow run`), and grows clinical.fct_vital_signs to ``--rows`` by copies of its
rows shifted into the past by the data's span in whole days (new observation keys; same patients, devices and senders, so streams continue):
use a scratch database (hence --scratch). Prints one line per figure, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._database import cpu_model  # noqa: E402
from connectors.settings import load_settings  # noqa: E402
from orchestration.warehouse.database import connect  # noqa: E402

GROW = """
insert into clinical.fct_vital_signs
select f.observation_key || ':d' || d, f.source, f.patient_key, f.device_key, f.loinc_code, f.vital_name,
       f.source_code_system, f.source_code, f.value_num, f.unit, f.observed_at - d * %s::int * interval '1 day',
       f.abnormal_flag, f.is_plausible, f.age_at_event, f.landing_row_id, f.patient_occurrence
from clinical.fct_vital_signs as f, generate_series(%s::int, %s::int) as d
where f.observation_key not like '%%:d%%'"""


def grow(settings, rows: int) -> int:
    """Copies of the original rows, each set one span of the data earlier (the past: nothing lands in the future),
    until the table holds about ``rows``."""
    with connect(settings, "pipeline") as conn:
        base, now, days = conn.execute(
            "select count(*) filter (where observation_key not like '%:d%'), count(*), "
            "ceil(extract(epoch from max(observed_at) - min(observed_at)) / 86400 + 0.01)::int "
            "from clinical.fct_vital_signs").fetchone()
        copies_have = (now - base) // max(base, 1)
        copies_need = max(0, -(-rows // max(base, 1)) - 1)
        if copies_need > copies_have:
            conn.execute(GROW, (days, copies_have + 1, copies_need))
        conn.execute("analyze clinical.fct_vital_signs")
        conn.commit()
        return conn.execute("select count(*) from clinical.fct_vital_signs").fetchone()[0]


def sql_limit(settings) -> tuple[float, int]:
    """Each check's query alone, one after another on one connection: (seconds, failed expectations)."""
    from expectations.checks import verdict
    from expectations.suites import all_checks

    checks = all_checks()
    started = time.perf_counter()
    failed = 0
    with connect(settings, "pipeline") as conn:
        for check in checks:
            cur = conn.execute(check.sql())
            names = [d.name for d in cur.description]
            failed += not verdict([dict(zip(names, row, strict=True)) for row in cur.fetchall()])
    return time.perf_counter() - started, failed


GX_RUN = """
import time; started = time.perf_counter()
from connectors.settings import load_settings
from expectations.quality import run_quality
from expectations.suites import all_checks
outcomes = run_quality(load_settings(), all_checks(), "benchmark", build_docs=False)
print(time.perf_counter() - started, sum(not o.success for o in outcomes))
"""


def gx_end_to_end() -> tuple[float, int]:
    """A fresh interpreter, so Great Expectations' import is counted: (seconds, failed expectations)."""
    out = subprocess.run([sys.executable, "-c", GX_RUN], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    seconds, failed = out.stdout.split()[-2:]
    return float(seconds), int(failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scratch", action="store_true", help="Confirm the database may be grown.")
    args = parser.parse_args()
    if not args.scratch:
        parser.error("this grows clinical.fct_vital_signs: run it on a scratch database and pass --scratch")
    settings = load_settings()
    rows = grow(settings, args.rows)
    sql_s, sql_failed = sql_limit(settings)
    gx_s, gx_failed = gx_end_to_end()
    sql_warm, _ = sql_limit(settings)  # the limit again, after Great Expectations warmed the same caches
    limit = min(sql_s, sql_warm)
    result = {"benchmark": "quality", "date": datetime.now(UTC).date().isoformat(), "rows": rows,
              "expectations": len(__import__("expectations.suites", fromlist=["all_checks"]).all_checks()),
              "sql_seconds": round(limit, 2), "gx_seconds": round(gx_s, 2), "ratio": round(gx_s / limit, 2),
              "failed_sql": sql_failed, "failed_gx": gx_failed, "cpu": cpu_model(), "python": platform.python_version()}
    print(f"vital signs: {rows:,}")
    print(f"one SQL query per expectation: {limit:.1f} s")
    print(f"Great Expectations end to end (import included): {gx_s:.1f} s  ({gx_s / limit:.2f} x)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

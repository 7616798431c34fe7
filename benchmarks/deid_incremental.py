"""Which texts the scrubber asset must (re)scrub, two ways, on a real PostgreSQL (a throwaway embedded
cluster): the anti-join it runs (every text without a scrubbed row of this version, patient and known-values
mark) against a watermark (texts landed after the highest one scrubbed, per source). Tables have the shape of
vault.vault_texts / clinical.scrubbed_texts without the encrypted payloads, 100,000 texts of 10,000
patients, all scrubbed, then 1,000 new ones; best of five runs each, server-side time (EXPLAIN ANALYZE).

    .venv/bin/python benchmarks/deid_incremental.py [--texts 100000]

The watermark alone misses what the anti-join finds: a merged patient (patient_key re-pointed on old rows), a
patient whose known values grew, a scrubber version change; the figures show what each costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import psycopg  # noqa: E402

SETUP = """
create table texts (text_key text primary key, source text, landing_row_id bigint, patient_key text, body text);
create table known (patient_key text primary key, mark text);
create table scrubbed (text_key text primary key, patient_key text, scrubber_version text, known_mark text,
                       source text, landing_row_id bigint, scrubbed_text text);
insert into texts select 'note:' || i, case when i % 2 = 0 then 'hl7' else 'fhir' end, i, 'p' || (i % %(patients)s),
       repeat('x', 200) from generate_series(1, %(texts)s) as i;
insert into known select 'p' || i, i || ':0' from generate_series(0, %(patients)s - 1) as i;
insert into scrubbed select t.text_key, t.patient_key, 'deid-v1', k.mark, t.source, t.landing_row_id, t.body
from texts t join known k using (patient_key);
create index on texts (source, landing_row_id);
create index on scrubbed (source, landing_row_id);
insert into texts select 'note:' || i, case when i % 2 = 0 then 'hl7' else 'fhir' end, i, 'p' || (i % %(patients)s),
       repeat('y', 200) from generate_series(%(texts)s + 1, %(texts)s + %(new)s) as i;
analyze;
"""
ANTI_JOIN = """
select t.text_key from texts as t
left join known as k using (patient_key)
left join scrubbed as s using (text_key)
where s.text_key is null or s.scrubber_version <> 'deid-v1' or s.patient_key is distinct from t.patient_key
   or s.known_mark is distinct from k.mark
"""
WATERMARK = """
select t.text_key from texts as t
join (select source, max(landing_row_id) as mark from scrubbed group by source) as w using (source)
where t.landing_row_id > w.mark
"""
WATERMARK_INDEXED = """
select t.text_key from (values ('hl7'), ('fhir')) as src (source)
cross join lateral (select coalesce(max(s.landing_row_id), 0) as mark from scrubbed as s
                    where s.source = src.source) as w
join texts as t on t.source = src.source and t.landing_row_id > w.mark
"""


def best_ms(conn: psycopg.Connection, query: str, runs: int = 5) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(runs):
        plan = conn.execute("explain (analyze, format json) " + query).fetchone()[0][0]
        times.append(plan["Execution Time"])
        rows = plan["Plan"]["Actual Rows"]
    return round(min(times), 1), rows


def main() -> None:
    from orchestration.warehouse.embedded import EmbeddedPostgres

    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        cluster = EmbeddedPostgres(Path(work) / "pg")
        cluster.start()
        try:
            with psycopg.connect(cluster.admin_url("postgres"), autocommit=True) as conn:
                conn.execute("set jit = off")
                params = {"texts": args.texts, "patients": args.texts // 10, "new": args.texts // 100}
                conn.execute(SETUP.replace("%(texts)s", str(params["texts"]))
                             .replace("%(patients)s", str(params["patients"])).replace("%(new)s", str(params["new"])))
                figures = {"texts": args.texts, "new": params["new"]}
                for name, query in (("anti_join", ANTI_JOIN), ("watermark", WATERMARK),
                                    ("watermark_indexed", WATERMARK_INDEXED)):
                    ms, rows = best_ms(conn, query)
                    figures[f"{name}_ms"], figures[f"{name}_rows"] = ms, rows
                    print(f"{name:18} {ms:8.1f} ms  {rows} texts")
        finally:
            cluster.destroy()
    print(json.dumps({"benchmark": "deid_incremental", **figures}))


if __name__ == "__main__":
    main()

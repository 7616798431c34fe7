"""Sensors: new files in the inbox trigger the ingest job; a batch that landed new rows (from the inbox, the
MLLP listener, a replay or a REST pull) triggers the build of everything downstream of landing, with the
blocking privacy checks in the same run, so the marts follow what lands and stay unpublished when a check fails.

Run keys and cursors hold file fingerprints and batch times only; log lines hold counts.
"""


import hashlib

import dagster as dg

from connectors.settings import load_settings
from orchestration.inbox import inbox_dir, pending_files
from orchestration.resources import WardflowWarehouse

ingest_job = dg.define_asset_job("ingest_inbox", selection=dg.AssetSelection.groups("landing"))
# Everything but landing, with every check (the privacy suites decide what is published).
downstream_job = dg.define_asset_job(
    "build_downstream", selection=dg.AssetSelection.all() - dg.AssetSelection.groups("landing"))
NEW_BATCHES = """select count(*), max(finished_at)::text from landing.ingest_batches
                 where finished_at is not null and landed > 0 and finished_at > %s::timestamptz"""


@dg.sensor(job=ingest_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext):
    files = pending_files(inbox_dir(load_settings()))
    if not files:
        return dg.SkipReason("inbox empty")
    fingerprint = hashlib.sha256("\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
                                 .encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=f"inbox-{fingerprint}", tags={"wardflow/files": str(len(files))})


@dg.sensor(job=downstream_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def landed_batches_sensor(context: dg.SensorEvaluationContext, warehouse: WardflowWarehouse):
    """One build per set of batches that finished since the last one (cursor: the newest finish time seen)."""
    from orchestration.errors import one_line

    try:
        with warehouse.connect() as conn:
            batches, newest = conn.execute(NEW_BATCHES, (context.cursor or "-infinity",)).fetchone() or (0, None)
    except Exception as exc:  # a sensor that raises retries noisily; say why in one line instead
        return dg.SkipReason(f"cannot read landing.ingest_batches: {one_line(exc)}")
    if not batches:
        return dg.SkipReason("no batch landed new rows since the last build")
    context.update_cursor(newest)
    return dg.RunRequest(run_key=f"landed-{newest}", tags={"wardflow/batches": str(batches)})

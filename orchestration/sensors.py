"""Sensors: new files in the inbox trigger the ingest job; the run key is the set of files seen."""


import hashlib

import dagster as dg

from connectors.settings import load_settings
from orchestration.inbox import inbox_dir, pending_files

ingest_job = dg.define_asset_job("ingest_inbox", selection=dg.AssetSelection.groups("landing"))


@dg.sensor(job=ingest_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext):
    files = pending_files(inbox_dir(load_settings()))
    if not files:
        return dg.SkipReason("inbox empty")
    fingerprint = hashlib.sha256("\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
                                 .encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=f"inbox-{fingerprint}", tags={"wardflow/files": str(len(files))})

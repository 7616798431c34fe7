"""OpenLineage for runs started from the Dagster UI, the schedule and the sensors: a run-status sensor per outcome
sends START (at the run's start time) and COMPLETE or FAIL, like `wardflow run` does in-process
(orchestration/runner.py; its runs carry the runner tag and are left alone here). Needs the Dagster daemon, which
`wardflow ui` starts. Events carry run ids, job names and the stored lineage; a failure names failed steps only."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from orchestration import openlineage
from orchestration.assets.publication import RUNNER_TAG
from orchestration.resources import WardflowWarehouse


def emit_for_run(context: dg.RunStatusSensorContext, ok: bool) -> dict | None:
    """START and COMPLETE/FAIL for one finished run; None for runs `wardflow run` reports itself."""
    run = context.dagster_run
    if run.tags.get(RUNNER_TAG) == "runner":
        return None
    settings = WardflowWarehouse().settings()
    record = context.instance.get_run_record_by_id(run.run_id)
    started = datetime.fromtimestamp(record.start_time, UTC) if record and record.start_time else None
    openlineage.emit(openlineage.run_event("START", run.run_id, run.job_name, now=started), settings.home)
    failed = [] if ok else sorted({e.step_key for e in context.instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE) if e.step_key})
    return openlineage.run_finished(settings, run.run_id, run.job_name, ok=ok, dagster_run_id=run.run_id,
                                    error=", ".join(failed) or "run failed")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="openlineage_completed",
                      default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=False,
                      description="Sends OpenLineage START and COMPLETE for each successful run started outside "
                                  "`wardflow run`.")
def openlineage_completed(context: dg.RunStatusSensorContext) -> None:
    emit_for_run(context, ok=True)


@dg.run_failure_sensor(name="openlineage_failed", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Sends OpenLineage START and FAIL (failed step names only) for each failed run "
                                   "started outside `wardflow run`.")
def openlineage_failed(context: dg.RunFailureSensorContext) -> None:
    emit_for_run(context, ok=False)

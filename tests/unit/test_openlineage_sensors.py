"""Runs started from the UI, the schedule or a sensor get OpenLineage events from run-status sensors; runs of
`wardflow run` (tagged by the runner) are left to the runner."""

from __future__ import annotations

import json

import dagster as dg

from orchestration.assets.publication import RUNNER_TAG
from orchestration.openlineage_sensors import emit_for_run


@dg.op
def ok_op() -> int:
    return 1


@dg.job
def tiny_job():
    ok_op()


def _context(instance, run):
    event = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0].dagster_event
    return dg.build_run_status_sensor_context(sensor_name="openlineage_completed", dagster_instance=instance,
                                              dagster_run=run, dagster_event=event)


def test_a_ui_run_gets_start_and_complete_and_a_runner_run_gets_none(tmp_path, monkeypatch):
    monkeypatch.setenv("WARDFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WARDFLOW_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # lineage unreadable: no outputs
    with dg.instance_for_test() as instance:
        ui_run = tiny_job.execute_in_process(instance=instance).dagster_run
        runner_run = tiny_job.execute_in_process(instance=instance, tags={RUNNER_TAG: "runner"}).dagster_run
        assert emit_for_run(_context(instance, runner_run), ok=True) is None
        done = emit_for_run(_context(instance, ui_run), ok=True)
    lines = [json.loads(line) for line in open(done["file"]).read().splitlines()]
    assert [(e["eventType"], e["job"]["name"]) for e in lines] == [("START", "tiny_job"), ("COMPLETE", "tiny_job")]
    assert lines[0]["run"]["runId"] == lines[1]["run"]["runId"] == ui_run.run_id

"""Publication in the graph: the release (analytics for wardflow_analyst, aggregates for wardflow_reader) is
granted by an asset of its own downstream of every release table, so it runs only when no blocking check
(dbt tests at severity error, the GX suites, the canary, detector and shift checks) failed; a run of a release
job that fails is answered by a run-failure sensor that withdraws the release and writes the audit event.

This holds for runs started from the UI, the schedule and the sensors (the sensor needs the Dagster daemon,
which `wardflow ui` / `dagster dev` start). `wardflow run` executes in-process and settles publication
itself (orchestration/runner.py); its runs carry the tag ``wardflow/publication=runner`` and the sensor
leaves them alone. Metadata and logs hold table counts and check names only."""


import json

import dagster as dg

from orchestration.publication import RELEASE, publish, withdraw
from orchestration.resources import WardflowWarehouse

RUNNER_TAG = "wardflow/publication"


def release_keys(manifest: dict) -> list[dg.AssetKey]:
    """Every release table (models of the analytics and aggregates folders), from the manifest."""
    from orchestration.catalog import layer_of

    return sorted(dg.AssetKey([layer_of(n), n["name"]]) for n in manifest["nodes"].values()
                  if n["resource_type"] == "model" and layer_of(n) in RELEASE)


def build_publication_asset(manifest: dict) -> dg.AssetsDefinition:
    @dg.asset(key=["publication", "release"], group_name="publication", deps=release_keys(manifest),
              description="Grants the release to wardflow_analyst (analytics) and wardflow_reader (aggregates); "
                          "runs only when every blocking check upstream passed. A failed release run is withdrawn "
                          "by the release_withdrawal sensor.")
    def release(context: dg.AssetExecutionContext, warehouse: WardflowWarehouse) -> dg.MaterializeResult:
        with warehouse.connect() as conn:
            tables = publish(conn)
            conn.execute("select audit.record('privacy.release_published', %s, %s::jsonb)",
                         (context.run_id, json.dumps({"tables": tables})))
            conn.commit()
        return dg.MaterializeResult(metadata={"tables_granted": tables})

    return release


def failed_blocking_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Names ("asset:check") of the blocking checks that failed in a run, from its event log."""
    from dagster._core.events import AssetCheckEvaluation

    failed = set()
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if not isinstance(evaluation, AssetCheckEvaluation):
            continue
        blocking = getattr(evaluation, "blocking", False) or evaluation.severity == dg.AssetCheckSeverity.ERROR
        if not evaluation.passed and blocking:
            failed.add(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return sorted(failed)


@dg.run_failure_sensor(name="release_withdrawal", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Withdraws the release from its readers after a failed run of a release job.")
def release_withdrawal(context: dg.RunFailureSensorContext) -> None:
    from orchestration.runner import RELEASE_JOBS

    run = context.dagster_run
    if run.job_name not in RELEASE_JOBS or run.tags.get(RUNNER_TAG) == "runner":
        return
    failed = failed_blocking_checks(context.instance, run.run_id) or ["build failed"]
    with WardflowWarehouse().connect() as conn:
        tables = withdraw(conn, failed)
    context.log.info(f"release withdrawn after run {run.run_id[:8]}: {tables} tables, {len(failed)} failed checks")

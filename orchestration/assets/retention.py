"""The retention purge as a Dagster asset with its own run history, and the daily schedule that runs it.

Kept out of the `wardflow_all` job (a build never deletes): it runs alone, from its schedule or by hand. The
materialization carries the run id and counts; the evidence is in audit.retention_log and the audit chain.
"""

import dagster as dg

from orchestration.resources import WardflowWarehouse

GROUP = "retention"


@dg.asset(key=["audit", "retention_purge"], group_name=GROUP,
          description="Rows past their declared retention period deleted (legal holds and floors honoured); "
                      "evidence in audit.retention_log and the hash-chained audit events.")
def retention_purge(context: dg.AssetExecutionContext, warehouse: WardflowWarehouse) -> dg.MaterializeResult:
    from orchestration.retention import apply_retention

    report = apply_retention(warehouse.settings(), dry_run=False)
    per_relation = {r["relation"]: r["affected"] for r in report["relations"]}
    context.log.info(f"retention run {report['run_id']}: {report['deleted']} rows deleted")
    return dg.MaterializeResult(metadata={"retention_run_id": report["run_id"], "deleted": report["deleted"],
                                          "per_relation": dg.MetadataValue.json(per_relation)})


retention_job = dg.define_asset_job("retention", selection=dg.AssetSelection.groups(GROUP))
retention_daily = dg.ScheduleDefinition(job=retention_job, cron_schedule="30 3 * * *", name="daily_retention",
                                        execution_timezone="UTC")

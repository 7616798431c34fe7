"""The only Definitions: landing and a fresh canary set → dbt layers (staging … vault, clinical) → the free-text
scrubber → analytics, aggregates, audit → blocking checks → publication (and the sensor that withdraws it)."""

from __future__ import annotations

import json

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.canaries import canary_set
from orchestration.assets.dbt import wardflow_dbt_after_scrub, wardflow_dbt_assets
from orchestration.assets.landing import landing_inbox
from orchestration.assets.lineage import classification_along_lineage, column_lineage, compliance_report
from orchestration.assets.publication import build_publication_asset, release_withdrawal
from orchestration.assets.retention import GROUP as RETENTION_GROUP
from orchestration.assets.retention import retention_daily, retention_job, retention_purge
from orchestration.assets.scrub import scrubbed_texts
from orchestration.checks.canary_check import canary_check
from orchestration.checks.detector_check import detector_check
from orchestration.checks.gx_checks import build_privacy_checks
from orchestration.checks.quality_checks import build_quality_checks
from orchestration.checks.shift_check import build_shift_checks
from orchestration.openlineage_sensors import openlineage_completed, openlineage_failed
from orchestration.project import dbt_executable, wardflow_dbt
from orchestration.resources import WardflowWarehouse
from orchestration.sensors import downstream_job, inbox_sensor, ingest_job, landed_batches_sensor

everything_job = dg.define_asset_job(  # a build never deletes: the retention purge runs on its own schedule
    "wardflow_all", selection=dg.AssetSelection.all() - dg.AssetSelection.groups(RETENTION_GROUP))
daily = dg.ScheduleDefinition(job=everything_job, cron_schedule="15 2 * * *", name="nightly_build")


def build_definitions() -> dg.Definitions:
    manifest = json.loads(wardflow_dbt.manifest_path.read_text())
    return dg.Definitions(
        assets=[landing_inbox, canary_set, wardflow_dbt_assets, scrubbed_texts, wardflow_dbt_after_scrub,
                build_publication_asset(manifest), column_lineage, compliance_report, retention_purge],
        asset_checks=[*build_privacy_checks(manifest), *build_shift_checks(manifest), *build_quality_checks(),
                      canary_check, detector_check, classification_along_lineage],
        jobs=[everything_job, ingest_job, downstream_job, retention_job],
        schedules=[daily, retention_daily],
        sensors=[inbox_sensor, landed_batches_sensor, release_withdrawal, openlineage_completed, openlineage_failed],
        resources={"dbt": DbtCliResource(project_dir=wardflow_dbt, dbt_executable=dbt_executable()), "warehouse": WardflowWarehouse()},
    )


defs = build_definitions()

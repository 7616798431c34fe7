"""Every dbt model, seed and test as Dagster assets and asset checks (tests at severity error block)."""


from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.project import require_manifest, wardflow_dbt
from orchestration.resources import WardflowWarehouse, environment
from orchestration.translator import WardflowTranslator


@dbt_assets(manifest=require_manifest(), project=wardflow_dbt, dagster_dbt_translator=WardflowTranslator())
def wardflow_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse):
    """Build vault → clinical → analytics (and the audit catalog); keys reach dbt only as PGOPTIONS."""
    with environment(warehouse.dbt_env()):
        yield from dbt.cli(["build"], context=context).stream()
    with warehouse.connect() as conn:
        conn.execute("select audit.record('pipeline.dbt_build', %s, '{}'::jsonb)", (context.run_id,))
        conn.commit()

"""Every dbt model, seed and test as Dagster assets and asset checks (tests at severity error block).

Two dbt asset definitions, so that the Python scrubber asset can sit between dbt models: everything up to
the vault's texts, and the models that read the scrubbed texts (the dbt source clinical.scrubbed_texts) with
everything downstream of them.
"""


from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.project import require_manifest, wardflow_dbt
from orchestration.resources import WardflowWarehouse, environment
from orchestration.translator import WardflowTranslator

AFTER_SCRUB = "source:clinical.scrubbed_texts+"

MANIFEST = require_manifest()


def _build(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse):
    """Keys reach dbt only as PGOPTIONS; the run is audited."""
    with environment(warehouse.dbt_env()):
        yield from dbt.cli(["build"], context=context).stream()
    with warehouse.connect() as conn:
        conn.execute("select audit.record('pipeline.dbt_build', %s, '{}'::jsonb)", (context.run_id,))
        conn.commit()


@dbt_assets(manifest=MANIFEST, project=wardflow_dbt, dagster_dbt_translator=WardflowTranslator(),
            exclude=AFTER_SCRUB)
def wardflow_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse):
    """Build staging → vault → clinical (and the audit catalog), all but what reads scrubbed text."""
    yield from _build(context, dbt, warehouse)


@dbt_assets(manifest=MANIFEST, project=wardflow_dbt, dagster_dbt_translator=WardflowTranslator(),
            select=AFTER_SCRUB, name="wardflow_dbt_after_scrub")
def wardflow_dbt_after_scrub(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse):
    """Build the models that read clinical.scrubbed_texts and everything downstream of them."""
    yield from _build(context, dbt, warehouse)

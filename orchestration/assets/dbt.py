"""Every dbt model, seed and test as Dagster assets and asset checks (tests at severity error block).

A build that fails is not retried blindly: landed rows that staging cannot read are quarantined
(orchestration/quarantine.py) and, if there were any, the build runs once more without them. The events of the
failed attempt are kept back, so that Dagster records each asset once.
"""


import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.project import wardflow_dbt
from orchestration.resources import WardflowWarehouse, environment
from orchestration.translator import WardflowTranslator


@dbt_assets(manifest=wardflow_dbt.manifest_path, project=wardflow_dbt, dagster_dbt_translator=WardflowTranslator())
def wardflow_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse):
    """Build vault → clinical → analytics (and the audit catalog); keys reach dbt only as PGOPTIONS."""
    with environment(warehouse.dbt_env()):
        first = dbt.cli(["build"], context=context, raise_on_error=False)
        events = list(first.stream())
        if first.is_successful():
            yield from events
        else:
            yield from _after_failure(context, dbt, warehouse, events)
    with warehouse.connect() as conn:
        conn.execute("select audit.record('pipeline.dbt_build', %s, '{}'::jsonb)", (context.run_id,))
        conn.commit()


def _after_failure(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse, events: list):
    """Quarantine what staging cannot read and build again; with nothing to quarantine, fail as dbt did."""
    from orchestration.quarantine import quarantine_unreadable

    with warehouse.connect(with_keys=True) as conn:
        moved = quarantine_unreadable(conn)
    if not any(moved.values()):
        yield from events
        raise dg.Failure("dbt build failed (see the dbt output; database errors carry their SQLSTATE only)")
    context.log.warning(f"quarantined landed rows staging could not read: {moved['hl7']} HL7, {moved['fhir']} FHIR; "
                        "see `wardflow rejected list --rule staging.unreadable`; building again")
    yield from dbt.cli(["build"], context=context).stream()

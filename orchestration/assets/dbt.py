"""Every dbt model, seed and test as Dagster assets and asset checks (tests at severity error block).

Two dbt asset definitions, so that the Python scrubber asset can sit between dbt models: everything up to
the vault's texts, and the models that read the scrubbed texts (the dbt source clinical.scrubbed_texts) with
everything downstream of them.

A build that fails is not retried blindly: landed rows that staging cannot read are quarantined
(orchestration/quarantine.py) and, if there were any, the build runs once more without them. The events of the
failed attempt are kept back, so that Dagster records each asset once.
"""

import json
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.assets.lineage_metadata import with_column_lineage
from orchestration.project import require_manifest, wardflow_dbt
from orchestration.resources import WardflowWarehouse, environment
from orchestration.translator import WardflowTranslator

AFTER_SCRUB = "source:clinical.scrubbed_texts+"

MANIFEST = require_manifest()


def _build(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse):
    """Keys reach dbt only as PGOPTIONS; the run is audited with its counts (also when it fails)."""
    seen: list = []
    try:
        with environment(warehouse.dbt_env()):
            first = dbt.cli(["build"], context=context, raise_on_error=False)
            events = list(first.stream())
            if first.is_successful():  # each model's Output carries its column lineage (orchestration/assets/lineage.py)
                for event in with_column_lineage(events, first.target_path / "manifest.json", context):
                    seen.append(event)
                    yield event
            else:
                for event in _after_failure(context, dbt, warehouse, events, first.target_path):
                    seen.append(event)
                    yield event
    finally:
        with warehouse.connect() as conn:
            conn.execute("select audit.record('pipeline.dbt_build', %s, %s::jsonb)",
                         (context.run_id, json.dumps(build_details(context.run_id, seen))))
            conn.commit()


def build_details(run_id: str, events: list) -> dict:
    """Ids and counts of one dbt build, for its audit event: models built, rows they wrote, checks run and
    failed. Never a value: dbt's adapter responses carry counts only."""
    built = [e for e in events if isinstance(e, dg.Output | dg.AssetMaterialization)]
    checks = [e for e in events if isinstance(e, dg.AssetCheckResult)]
    rows = 0
    for event in built:
        value = (event.metadata or {}).get("rows_affected")
        count: Any = getattr(value, "value", value)
        rows += int(count or 0) if value is not None else 0
    return {"run_id": run_id, "models_built": len(built), "rows": rows, "checks": len(checks),
            "checks_failed": sum(1 for c in checks if not c.passed)}


def _after_failure(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WardflowWarehouse, events: list,
                   target_path):
    """Quarantine what staging cannot read, else the rows that make a model fail, and build again; with nothing to
    quarantine, fail as dbt did."""
    from orchestration.quarantine import RULE, quarantine_unreadable
    from orchestration.quarantine_models import MODEL_RULE, failed_models, quarantine_failing_rows

    rule = RULE
    with warehouse.connect(with_keys=True) as conn:
        moved = quarantine_unreadable(conn)
        if not any(moved.values()):
            rule, moved = MODEL_RULE, quarantine_failing_rows(conn, failed_models(target_path))
    if not any(moved.values()):
        yield from events
        raise dg.Failure("dbt build failed (see the dbt output; database errors carry their SQLSTATE only)")
    context.log.warning(f"quarantined landed rows ({rule}): {moved['hl7']} HL7, {moved['fhir']} FHIR; "
                        f"see `wardflow rejected list --rule {rule}`; building again")
    yield from dbt.cli(["build"], context=context).stream()


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

"""Column lineage in Dagster: the asset audit/column_lineage (the whole graph, from a `dbt
compile` of the models, stored in audit.column_lineage), its blocking check that no direct identifier or
level ≥ 4 value reaches a release relation untreated, and the compliance report asset."""


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource

from orchestration.lineage import build_graph
from orchestration.resources import WardflowWarehouse, environment

COLUMN_LINEAGE = dg.AssetKey(["audit", "column_lineage"])


def compiled_manifest(dbt: DbtCliResource, warehouse: WardflowWarehouse) -> Mapping[str, Any]:
    """`dbt compile` of every model (the SQL as it runs; incremental models as their next run would read)."""
    from orchestration.project import require_manifest

    with environment(warehouse.dbt_env()):
        invocation = dbt.cli(["compile", "--select", "resource_type:model", "--quiet"],
                             manifest=require_manifest(), raise_on_error=True).wait()
    return invocation.get_artifact("manifest.json")


def lineage_manifest(context: AssetExecutionContext, dbt: DbtCliResource,
                     warehouse: WardflowWarehouse) -> Mapping[str, Any]:
    """The parsed manifest with the SQL the dbt assets compiled when they built (kept by
    orchestration/assets/lineage_metadata.py); a `dbt compile` only when some model has none yet."""
    import json

    from orchestration.assets.lineage_metadata import kept_compiled_code
    from orchestration.lineage import missing_code, with_compiled_code
    from orchestration.project import require_manifest

    manifest = with_compiled_code(json.loads(require_manifest().read_text()), kept_compiled_code())
    missing = missing_code(manifest)
    if missing:
        context.log.info(f"{len(missing)} models without compiled SQL from the build: compiling")
        return compiled_manifest(dbt, warehouse)
    return manifest


def _upstream_dbt_keys() -> list[dg.AssetKey]:
    from orchestration.assets.dbt import wardflow_dbt_after_scrub, wardflow_dbt_assets

    return [*wardflow_dbt_assets.keys, *wardflow_dbt_after_scrub.keys]


@dg.asset(key=COLUMN_LINEAGE, group_name="audit", deps=_upstream_dbt_keys(),
          description="Column lineage of every model to its source fields, with the classification each "
                      "column inherits along it (audit.column_lineage).")
def column_lineage(context: AssetExecutionContext, dbt: DbtCliResource,
                   warehouse: WardflowWarehouse) -> dg.MaterializeResult:
    from orchestration.lineage_store import release_problems, rows, save

    graph = build_graph(lineage_manifest(context, dbt, warehouse))
    with warehouse.connect() as conn:
        stored = save(conn, graph)
    data = rows(graph)
    context.log.info(f"column lineage: {stored} columns, {sum(not r['resolved'] for r in data)} unresolved")
    return dg.MaterializeResult(metadata={"columns": stored, "untreated_paths": len(release_problems(data)),
                                          "unresolved_columns": sum(not r["resolved"] for r in data)})


@dg.asset_check(asset=COLUMN_LINEAGE, name="classification_along_lineage", blocking=True,
                description="No direct identifier or level >= 4 value reaches a release relation (analyst, "
                            "reader, sharing recipient) without a treatment applied on the way.")
def classification_along_lineage(warehouse: WardflowWarehouse) -> dg.AssetCheckResult:
    from orchestration.lineage_store import load, release_problems

    with warehouse.connect("compliance") as conn:
        problems = release_problems(load(conn))
    return dg.AssetCheckResult(passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"untreated_paths": len(problems),
                                         "release_columns": ", ".join(p.split(" <- ")[0] for p in problems[:20])})


@dg.asset(key=dg.AssetKey(["audit", "compliance_report"]), group_name="audit", deps=[COLUMN_LINEAGE],
          description="The compliance report: one self-contained HTML page and the same content as JSON.")
def compliance_report(context: AssetExecutionContext, warehouse: WardflowWarehouse) -> dg.MaterializeResult:
    from orchestration.reports import write_compliance_report

    settings = warehouse.settings()
    paths = write_compliance_report(settings, settings.home / "reports")
    context.log.info(f"compliance report written ({paths['html'].stat().st_size} bytes)")
    return dg.MaterializeResult(metadata={"html": dg.MetadataValue.path(str(paths["html"])),
                                          "json": dg.MetadataValue.path(str(paths["json"]))})

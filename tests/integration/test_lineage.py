"""Column lineage of the real project after a build: stored in audit.column_lineage for the compliance role,
analytics.vital_signs.value reaches HL7 OBX-5, the dbt materializations carry Dagster column lineage, the
blocking lineage check passes on the project and fails once on purpose, and the run wrote OpenLineage events."""

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from orchestration.lineage_store import load, release_problems, save, source_fields
from orchestration.warehouse.database import connect


@pytest.fixture(scope="module")
def stored(built, settings):
    with connect(settings, "compliance") as conn:
        return load(conn)


def test_vital_signs_value_reaches_obx5(stored):
    fields = source_fields(stored, "analytics.vital_signs.value")
    assert "HL7 OBX-5" in fields and "FHIR Observation.valueQuantity.value" in fields
    assert release_problems(stored) == []
    assert sum(not r["resolved"] for r in stored if r["release"]) == 0


def test_the_cli_prints_the_path(built, wardflow_env):
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "lineage", "analytics.vital_signs.value",
                             "--check", "--json"], capture_output=True, text=True, env={**os.environ, **wardflow_env},
                            timeout=300, check=True)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["path"][0].startswith("analytics.vital_signs.value")
    assert any("clinical.fct_vital_signs.value_num" in line for line in data["path"])
    assert any(line.endswith("← HL7 OBX-5") for line in data["path"])


def test_dbt_materializations_carry_column_lineage(built):
    record = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey(["analytics", "vital_signs"]))
    lineage = record.asset_materialization.metadata["dagster/column_lineage"].value
    assert dg.TableColumnDep(dg.AssetKey(["clinical", "fct_vital_signs"]), "value_num") in lineage.deps_by_column["value"]


def _leaky_graph():
    """The project's graph plus an analytics model that projects the patient's family name untreated."""
    from orchestration.assets.lineage_metadata import kept_compiled_code
    from orchestration.lineage import build_graph, with_compiled_code
    from orchestration.project import wardflow_dbt

    manifest = with_compiled_code(json.loads(wardflow_dbt.manifest_path.read_text()), kept_compiled_code())
    stg = manifest["nodes"]["model.wardflow.stg_hl7__patients"]
    leak = {**manifest["nodes"]["model.wardflow.patients"], "name": "leaky_names", "alias": "leaky_names",
            "fqn": ["wardflow", "analytics", "leaky_names"],
            "columns": {"nickname": {"name": "nickname", "config": {"meta": {"privacy": {
                "category": "health_resources", "level": 1, "identifier": "none", "hipaa": "none", "treatment": "keep"}}}}},
            "compiled_code": f"with __dbt__cte__stg_hl7__patients as ({stg['compiled_code']}) "
                             "select p.family_name as nickname from __dbt__cte__stg_hl7__patients as p"}
    manifest["nodes"]["model.wardflow.leaky_names"] = leak
    return build_graph(manifest), build_graph(with_compiled_code(json.loads(wardflow_dbt.manifest_path.read_text()),
                                                                kept_compiled_code()))


def test_the_blocking_lineage_check_fails_on_an_untreated_direct_identifier(built, settings):
    from orchestration.assets.lineage import classification_along_lineage
    from orchestration.resources import WardflowWarehouse

    leaky, clean = _leaky_graph()
    warehouse = WardflowWarehouse(home=str(settings.home))

    def check(resource):
        return classification_along_lineage(warehouse=resource)

    try:
        with connect(settings, "pipeline") as conn:
            save(conn, leaky)
        failed = check(warehouse)
        assert not failed.passed and failed.metadata["untreated_paths"].value == 1
        assert failed.metadata["release_columns"].value == "analytics.leaky_names.nickname"
    finally:
        with connect(settings, "pipeline") as conn:
            save(conn, clean)
    assert check(warehouse).passed
    assert classification_along_lineage.check_specs and next(iter(classification_along_lineage.check_specs)).blocking


def test_the_run_wrote_openlineage_start_and_complete(built, settings):
    _, outcome = built
    events = [json.loads(line) for path in sorted((settings.home / "openlineage").glob("events-*.jsonl"))
              for line in path.read_text().splitlines()]
    complete = [e for e in events if e["eventType"] == "COMPLETE"
                and e["run"]["facets"].get("wardflow", {}).get("dagsterRunId") == outcome.run_id]
    assert len(complete) == 1
    run_id = complete[0]["run"]["runId"]
    assert any(e["eventType"] == "START" and e["run"]["runId"] == run_id for e in events)
    vitals = next(o for o in complete[0]["outputs"] if o["name"].endswith(".analytics.vital_signs"))
    inputs = vitals["facets"]["columnLineage"]["fields"]["value"]["inputFields"]
    assert [(i["name"].split(".", 1)[1], i["field"]) for i in inputs] == [("clinical.fct_vital_signs", "value_num")]

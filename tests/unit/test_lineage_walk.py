"""Column lineage and classification along it, on a small hand-written compiled manifest: sqlglot reads the
compiled SQL, ephemeral models inlined as __dbt__cte__ stay models of their own, the walk stops at the staging
column that declares its source field, and an untreated path into a release relation is found."""

from orchestration.lineage import build_graph
from orchestration.lineage_policy import violations
from orchestration.lineage_store import rows, source_fields, treatments, tree_lines

TECH = {"category": "health_resources", "level": 1, "identifier": "none", "hipaa": "none", "treatment": "keep"}
NAME = {"category": "personal_attributes", "level": 4, "identifier": "direct", "hipaa": "names", "treatment": "encrypt"}
DOC = {"category": "personal_attributes", "level": 5, "identifier": "direct", "hipaa": "names", "treatment": "drop"}
VALUE = {"category": "health_status", "level": 3, "identifier": "sensitive", "hipaa": "none", "treatment": "keep"}
PSEUDO = {"category": "personal_attributes", "level": 3, "identifier": "quasi", "hipaa": "none",
          "treatment": "pseudonymize"}

STG = ("select m.id as message_id, m.doc -> 5 ->> 0 as family_name, (m.doc -> 7 ->> 0)::numeric as value_num "
       "from \"wardflow\".\"landing\".\"hl7_messages\" as m")


def _col(name, privacy, source_field=None):
    meta = {"privacy": privacy, **({"source_field": source_field} if source_field else {})}
    return {"name": name, "config": {"meta": meta}}


def _model(name, layer, materialized, columns, sql, grants=None):
    return {"resource_type": "model", "package_name": "wardflow", "name": name, "alias": name, "schema": layer,
            "fqn": ["wardflow", layer, name], "config": {"materialized": materialized, "grants": grants or {}},
            "columns": {c["name"]: c for c in columns}, "compiled_code": sql}


def _cte(sql: str) -> str:
    return f"with __dbt__cte__stg_hl7__patients as ({STG}) {sql}"


def manifest(release_sql: str, release_columns: list) -> dict:
    source = {"resource_type": "source", "package_name": "wardflow", "source_name": "landing", "name": "hl7_messages",
              "identifier": "hl7_messages", "schema": "landing",
              "columns": {"id": _col("id", TECH), "doc": _col("doc", DOC)}}
    staging = _model("stg_hl7__patients", "staging", "ephemeral", [
        _col("message_id", TECH), _col("family_name", NAME, "HL7 PID-5.1"), _col("value_num", VALUE, "HL7 OBX-5")], STG)
    clinical = _model("fct", "clinical", "table", [_col("patient_key", PSEUDO), _col("value", VALUE)], _cte(
        "select md5(s.family_name) as patient_key, s.value_num as value from __dbt__cte__stg_hl7__patients as s"))
    release = _model("leaky", "analytics", "table", release_columns, release_sql,
                     grants={"select": ["wardflow_analyst"]})
    nodes = {f"model.wardflow.{m['name']}": m for m in (staging, clinical, release)}
    return {"nodes": nodes, "sources": {"source.wardflow.landing.hl7_messages": source}, "exposures": {}}


SAFE = ('select f.patient_key, f.value * 1 as value from "wardflow"."clinical"."fct" as f',
        [_col("patient_key", PSEUDO), _col("value", VALUE)])


def test_lineage_reaches_the_source_field_through_the_ephemeral_model():
    graph = build_graph(manifest(*SAFE))
    data = rows(graph)
    assert graph.columns["analytics.leaky.value"].upstream == ("clinical.fct.value",)
    assert graph.columns["clinical.fct.value"].upstream == ("staging.stg_hl7__patients.value_num",)
    assert source_fields(data, "analytics.leaky.value") == ["HL7 OBX-5"]
    assert source_fields(data, "analytics.leaky.patient_key") == ["HL7 PID-5.1"]
    assert treatments(data, "analytics.leaky.patient_key") == ["pseudonymize"]
    assert "← HL7 OBX-5" in tree_lines(data, "analytics.leaky.value")[-1]
    assert violations(graph) == []


def test_a_direct_identifier_projected_without_treatment_fails_the_check():
    leak = _cte("select s.family_name as nickname, s.family_name as masked from __dbt__cte__stg_hl7__patients as s")
    # declared harmless, and declared masked while the SQL copies the value: neither is a treatment
    graph = build_graph(manifest(leak, [_col("nickname", TECH), _col("masked", {**TECH, "treatment": "mask"})]))
    found = {(v.column, v.origin, v.origin_field) for v in violations(graph)}
    assert found == {("analytics.leaky.nickname", "staging.stg_hl7__patients.family_name", "HL7 PID-5.1"),
                     ("analytics.leaky.masked", "staging.stg_hl7__patients.family_name", "HL7 PID-5.1")}
    message = violations(graph)[0].message()
    assert "rule privacy.lineage_untreated" in message and "PID-5.1" in message


def test_unanalysable_sql_in_a_release_is_not_taken_as_safe():
    graph = build_graph(manifest("select from where", [_col("value", VALUE)]))
    assert [v.column for v in violations(graph)] == ["analytics.leaky.value"]
    assert not graph.columns["analytics.leaky.value"].resolved

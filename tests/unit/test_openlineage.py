"""OpenLineage run events: the JSON the spec asks for (with the columnLineage facet), the file transport, and
the HTTP transport against a local server that stands in for Marquez; a dead endpoint never fails a run."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from orchestration.openlineage import URL_VARIABLE, emit, output_datasets, run_event

ROWS = [
    {"relation": "clinical.fct_vital_signs", "column_name": "value_num", "materialization": "incremental",
     "treatment": "keep", "upstream": ["intermediate.int_vital_signs_unified.value_num"], "source_field": None},
    {"relation": "intermediate.int_vital_signs_unified", "column_name": "value_num", "materialization": "ephemeral",
     "treatment": "keep", "upstream": ["staging.stg_hl7__observations.value_num"], "source_field": None},
    {"relation": "staging.stg_hl7__observations", "column_name": "value_num", "materialization": "ephemeral",
     "treatment": "keep", "upstream": [], "source_field": "HL7 OBX-5"},
    {"relation": "clinical.fct_vital_signs", "column_name": "observed_at", "materialization": "incremental",
     "treatment": "keep", "upstream": [], "source_field": None},
    {"relation": "analytics.vital_signs", "column_name": "observed_at", "materialization": "incremental",
     "treatment": "date_shift", "upstream": ["clinical.fct_vital_signs.observed_at"], "source_field": None},
]


def test_complete_event_carries_schema_and_column_lineage():
    outputs = output_datasets(ROWS, "postgres://db:5432", "wardflow")
    event = run_event("COMPLETE", "5b0a1f7e-8f51-4b5e-9a7c-6a1c2f0b9d11", "wardflow_all", outputs=outputs)
    assert event["schemaURL"].startswith("https://openlineage.io/spec/") and event["producer"]
    assert event["run"]["runId"] == "5b0a1f7e-8f51-4b5e-9a7c-6a1c2f0b9d11" and event["eventTime"].endswith("Z")
    fct = next(o for o in event["outputs"] if o["name"] == "wardflow.clinical.fct_vital_signs")
    lineage = fct["facets"]["columnLineage"]
    assert lineage["_schemaURL"].endswith("ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet")
    # the ephemeral intermediate model is folded in: the input is the staging column that names its field
    assert lineage["fields"]["value_num"]["inputFields"][0]["name"] == "wardflow.staging.stg_hl7__observations"
    assert {o["name"] for o in event["outputs"]} == {"wardflow.clinical.fct_vital_signs", "wardflow.analytics.vital_signs"}
    shifted = next(o for o in event["outputs"] if o["name"] == "wardflow.analytics.vital_signs")
    transformation = shifted["facets"]["columnLineage"]["fields"]["observed_at"]["inputFields"][0]["transformations"][0]
    assert transformation["masking"] is True and transformation["description"] == "date_shift"


def test_fail_event_names_the_error_and_a_non_uuid_run_id_is_mapped():
    event = run_event("FAIL", "not-a-uuid", "wardflow_all", error="DagsterExecutionStepExecutionError")
    assert event["run"]["facets"]["errorMessage"]["message"] == "DagsterExecutionStepExecutionError"
    assert len(event["run"]["runId"]) == 36


class _Marquez(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Marquez.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_http_transport_posts_each_event_to_the_lineage_endpoint(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Marquez)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {URL_VARIABLE: f"http://127.0.0.1:{server.server_port}"}
        for kind in ("START", "COMPLETE"):
            done = emit(run_event(kind, "5b0a1f7e-8f51-4b5e-9a7c-6a1c2f0b9d11", "wardflow_all"), tmp_path, env)
            assert done["http"] == 201
    finally:
        server.shutdown()
    assert [(p, t, e["eventType"]) for p, t, e in _Marquez.received] == [
        ("/api/v1/lineage", "application/json", "START"), ("/api/v1/lineage", "application/json", "COMPLETE")]
    lines = (tmp_path / "openlineage").glob("events-*.jsonl")
    assert [json.loads(line)["eventType"] for path in lines for line in path.read_text().splitlines()] == [
        "START", "COMPLETE"]


def test_an_unreachable_endpoint_is_reported_not_raised(tmp_path):
    done = emit(run_event("START", "x", "wardflow_all"), tmp_path, {URL_VARIABLE: "http://127.0.0.1:9/"}, timeout=2)
    assert done["file"] and done["http"] in ("URLError", "ConnectionRefusedError", "TimeoutError")

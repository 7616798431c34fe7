"""OpenLineage run events (spec 2-0-2) for every pipeline run: START before it, COMPLETE or FAIL after it,
with the relations it wrote as output datasets carrying the `schema` and `columnLineage` facets (from the
column lineage in orchestration/lineage.py), so that Marquez or any OpenLineage catalog can ingest them.

Transports: one JSON line per event appended to $WARDFLOW_HOME/openlineage/events-YYYYMMDD.jsonl (default),
and an HTTP POST to $WARDFLOW_OPENLINEAGE_URL (Marquez: <base>/api/v1/lineage) when that is set. Events hold
names of jobs, relations and columns, ids and counts, never a data value or a key. A transport that fails is
logged (its error type) and never fails the run.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = "https://github.com/wardflow/wardflow/tree/main/orchestration/openlineage.py"
FACETS = "https://openlineage.io/spec/facets"
NAMESPACE = "wardflow"
URL_VARIABLE = "WARDFLOW_OPENLINEAGE_URL"
_log = logging.getLogger(__name__)


def _facet(name: str, version: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/{version}/{name}.json#/$defs/{name}", **body}


def output_datasets(columns: Sequence[Mapping[str, Any]], namespace: str, database: str,
                    stored_only: bool = True) -> list[dict[str, Any]]:
    """One dataset per relation of the audit.column_lineage rows given, with its schema and column lineage.

    Ephemeral relations (staging, intermediate) are never stored: their inputs are folded in, so a stored
    column's lineage names stored relations, sources or the staging column that declares a source field."""
    by_key = {f"{c['relation']}.{c['column_name']}": c for c in columns}
    relations: dict[str, list[Mapping[str, Any]]] = {}
    for c in columns:
        if not stored_only or c["materialization"] not in ("ephemeral", "source"):
            relations.setdefault(c["relation"], []).append(c)
    out = []
    for relation, cols in sorted(relations.items()):
        fields = {c["column_name"]: {"inputFields": _input_fields(by_key, c, namespace, database)} for c in cols}
        out.append({"namespace": namespace, "name": f"{database}.{relation}", "facets": {
            "schema": _facet("SchemaDatasetFacet", "1-1-1", fields=[{"name": c["column_name"]} for c in cols]),
            "columnLineage": _facet("ColumnLineageDatasetFacet", "1-2-0", fields=fields)}})
    return out


def _input_fields(by_key: Mapping[str, Mapping[str, Any]], column: Mapping[str, Any], namespace: str,
                  database: str) -> list[dict[str, Any]]:
    """The stored (or source-field) columns behind one column, walking through ephemeral models."""
    found, seen, stack = [], set(), list(column.get("upstream") or [])
    while stack:
        key = stack.pop()
        parent = by_key.get(key)
        if key in seen or parent is None:
            continue
        seen.add(key)
        if parent["materialization"] == "ephemeral" and not parent.get("source_field"):
            stack.extend(parent.get("upstream") or [])
            continue
        masking = column.get("treatment") not in (None, "", "keep")
        found.append({"namespace": namespace, "name": f"{database}.{parent['relation']}",
                      "field": parent["column_name"],
                      "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION" if masking else "IDENTITY",
                                           "description": column.get("treatment") or "keep", "masking": masking}]})
    return sorted(found, key=lambda f: (f["name"], f["field"]))


def run_event(event_type: str, run_id: str, job: str, *, outputs: list[dict] | None = None,
              error: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A RunEvent; `error` is an error type or step name (never a message that may quote data)."""
    run_facets: dict[str, Any] = {}
    if error:
        run_facets["errorMessage"] = _facet("ErrorMessageRunFacet", "1-0-1", message=error,
                                            programmingLanguage="python")
    return {
        "eventType": event_type,
        "eventTime": (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "run": {"runId": _uuid(run_id), "facets": run_facets},
        "job": {"namespace": NAMESPACE, "name": job, "facets": {
            "jobType": _facet("JobTypeJobFacet", "2-0-3", processingType="BATCH", integration="WARDFLOW",
                              jobType="JOB")}},
        "inputs": [],
        "outputs": outputs or [],
        "producer": PRODUCER,
        "schemaURL": SPEC,
    }


def _uuid(run_id: str) -> str:
    """OpenLineage wants a UUID: Dagster's run ids are UUIDs already; anything else is mapped to one."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"wardflow:{run_id}"))


def emit(event: Mapping[str, Any], home: Path, env: Mapping[str, str] | None = None, timeout: float = 5.0) -> dict:
    """Write the event to the file transport and, when configured, POST it; returns what happened (for tests
    and `--json`). Failures are logged and reported, never raised."""
    env = os.environ if env is None else env
    done: dict[str, Any] = {"file": None, "http": None}
    line = json.dumps(event, sort_keys=True)
    folder = home / "openlineage"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"events-{datetime.now(UTC):%Y%m%d}.jsonl"
        with path.open("a") as handle:
            handle.write(line + "\n")
        done["file"] = str(path)
    except OSError as exc:
        _log.warning("openlineage file transport failed (%s)", type(exc).__name__)
    url = env.get(URL_VARIABLE)
    if url:
        done["http"] = _post(endpoint(url), line.encode(), timeout)
    return done


def endpoint(url: str) -> str:
    """A Marquez base URL gets Marquez's lineage path; a URL that already names a path is used as given."""
    from urllib.parse import urlsplit

    return url if urlsplit(url).path not in ("", "/") else url.rstrip("/") + "/api/v1/lineage"


def _post(url: str, body: bytes, timeout: float) -> int | str:
    if not url.startswith(("http://", "https://")):
        _log.warning("openlineage: %s is not an http(s) URL; event not sent", URL_VARIABLE)
        return "not-http"
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 (scheme checked above)
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            return response.status
    except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
        _log.warning("openlineage HTTP transport failed (%s)", type(exc).__name__)
        return type(exc).__name__


def run_started(settings: Any, job: str) -> str:
    """START for a pipeline run about to begin; returns the OpenLineage run id the finish event reuses."""
    run_id = str(uuid.uuid4())
    emit(run_event("START", run_id, job), settings.home)
    return run_id


def run_finished(settings: Any, run_id: str, job: str, *, ok: bool, dagster_run_id: str | None = None,
                 error: str | None = None) -> dict:
    """COMPLETE (with every stored relation, its schema and column lineage) or FAIL (the error type or failed
    step names only). The lineage is read from audit.column_lineage; without it the event has no outputs."""
    event = run_event("COMPLETE" if ok else "FAIL", run_id, job, outputs=_stored_outputs(settings),
                      error=None if ok else (error or "run failed"))
    if dagster_run_id:
        event["run"]["facets"]["wardflow"] = {"_producer": PRODUCER, "_schemaURL": f"{PRODUCER}#RunFacet",
                                              "dagsterRunId": dagster_run_id}
    return emit(event, settings.home)


def export_event(settings: Any, agreement: str, *, ok: bool, columns: list[str] | None = None,
                 sha256: str | None = None, error: str | None = None) -> dict:
    """START and COMPLETE (or FAIL) for one `share export`: the exported relations and columns as inputs, the
    delivered file as an output named by agreement and digest (the path an operator chose may name people)."""
    run_id = str(uuid.uuid4())
    job = f"share_export.{agreement}"
    emit(run_event("START", run_id, job), settings.home)
    event = run_event("COMPLETE" if ok else "FAIL", run_id, job, error=None if ok else (error or "refused"))
    relations: dict[str, list[str]] = {}
    for name in columns or []:
        model, _, column = name.partition(".")
        relations.setdefault(model, []).append(column)
    event["inputs"] = [{"namespace": NAMESPACE, "name": f"model.{model}", "facets": {
        "schema": _facet("SchemaDatasetFacet", "1-1-1", fields=[{"name": c} for c in cols])}}
        for model, cols in sorted(relations.items())]
    if ok and sha256:
        event["outputs"] = [{"namespace": "file", "name": f"share/{agreement}/{sha256}"}]
    return emit(event, settings.home)


def _stored_outputs(settings: Any) -> list[dict[str, Any]]:
    import psycopg

    from orchestration.lineage_store import load
    from orchestration.warehouse.database import DatabaseError, connect, role_params, scalar

    try:
        with connect(settings, "pipeline") as conn:
            if not scalar(conn.execute("select to_regclass('audit.column_lineage') is not null")):
                return []
            rows, database = load(conn), conn.info.dbname
    except (psycopg.Error, DatabaseError) as exc:
        _log.warning("openlineage: lineage not read (%s)", type(exc).__name__)
        return []
    params = role_params(settings, "pipeline")
    namespace = f"postgres://{params.get('host', 'localhost')}:{params.get('port', '5432')}"
    return output_datasets(rows, namespace, database)

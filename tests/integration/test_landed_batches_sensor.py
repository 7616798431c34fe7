"""A landed batch triggers the build of everything downstream of landing, with the blocking privacy checks in
the same run; nothing new landed (or only duplicates) triggers nothing."""

from __future__ import annotations

import uuid

import dagster as dg

from orchestration.resources import WardflowWarehouse


def evaluate(cursor: str | None):
    from orchestration.sensors import landed_batches_sensor

    context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": WardflowWarehouse()})
    return landed_batches_sensor(context), context.cursor


def land(tmp_path, settings, keyring, control_id: str):
    from connectors.ingest import ingest_paths
    from orchestration.warehouse.database import connect

    message = (f"MSH|^~\\&|MON|ICU|WF|HOSP|20261101120000||ORU^R01|{control_id}|P|2.6\r"
               "PID|||SENSOR1^^^HIS^MR||Test^Sensor\r").encode()
    path = tmp_path / f"{control_id}.hl7"
    path.write_bytes(message)
    with connect(settings, "pipeline") as conn:
        return ingest_paths([path], conn, keyring).counts


def test_a_landed_batch_requests_the_downstream_build_once(built, settings, keyring, tmp_path):
    first, cursor = evaluate(None)  # batches landed before the sensor ever ran
    assert isinstance(first, dg.RunRequest) and cursor
    quiet, same = evaluate(cursor)
    assert isinstance(quiet, dg.SkipReason) and same == cursor

    control_id = f"SENSOR-{uuid.uuid4().hex[:12]}"
    assert land(tmp_path, settings, keyring, control_id).landed == 1
    request, newer = evaluate(cursor)
    assert isinstance(request, dg.RunRequest) and newer > cursor
    assert request.run_key == f"landed-{newer}" and request.tags["wardflow/batches"] == "1"

    again = land(tmp_path, settings, keyring, control_id)  # the same message: a duplicate, nothing new
    assert again.landed == 0 and again.duplicates == 1
    assert isinstance(evaluate(newer)[0], dg.SkipReason)


def test_the_downstream_build_runs_the_blocking_privacy_checks(built):
    from orchestration.definitions import defs

    job = defs.resolve_job_def("build_downstream")
    graph = defs.resolve_asset_graph()
    analytics = {k for k in graph.get_all_asset_keys() if k.path[0] == "analytics"}
    assert analytics and analytics <= set(job.asset_layer.selected_asset_keys)
    assert not {k for k in job.asset_layer.selected_asset_keys if k.path[0] == "landing"}
    checks = {f"{k.path[0]}__{k.path[1]}_privacy_suite" for k in analytics}
    assert checks <= set(job.graph.node_names())
    blocking = {graph.get_check_spec(k).asset_key for k in graph.asset_check_keys
                if k.name == "privacy_suite" and graph.get_check_spec(k).blocking}
    assert blocking == analytics


def test_an_unreachable_database_is_a_skip_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("WARDFLOW_HOME", str(tmp_path / "nowhere"))
    monkeypatch.delenv("WARDFLOW_DATABASE_URL", raising=False)
    result, _ = evaluate(None)
    assert isinstance(result, dg.SkipReason) and "wardflow init" in result.skip_message
    assert not (tmp_path / "nowhere" / "pg").exists()

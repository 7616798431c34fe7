"""A landed row that staging reads but that still makes a model fail is found by bisection and quarantined
(orchestration/quarantine_models.py), against a real PostgreSQL and a real compiled staging model.

The failing "model" is staging's own observations wrapped in a division that breaks on one planted OBX-5 value
(the total casts leave no real model that fails on data, which is the point; the net must still hold)."""

from __future__ import annotations

import json
import secrets

import pytest

from connectors.ingest import ingest_paths
from orchestration.quarantine_models import (
    MODEL_RULE,
    FailedModel,
    failed_models,
    probe,
    quarantine_failing_rows,
)
from orchestration.scan import compile_ephemeral
from orchestration.warehouse.database import connect


def oru(control: str, value: str, mrn: str) -> bytes:
    return ("\r".join([
        f"MSH|^~\\&|QMON^02AABBCCDDEE0099^EUI-64|ICU-Q|WARDFLOW|H1|20261101090000+0800||ORU^R01^ORU_R01|{control}|P|2.6",
        f"PID|1||{mrn}^^^HIS&1.2.156.112604.1.2.1&ISO^MR||测试^人||19700101|F",
        f"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|{value}|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||"
        "20261101090000+0800",
    ]) + "\r").encode()


@pytest.fixture(scope="module")
def poisoned_model(settings, keyring, initialised, tmp_path_factory):
    """Six good messages and one whose OBX-5 makes the wrapped model divide by zero; the model and the ids."""
    token = secrets.token_hex(4)
    folder = tmp_path_factory.mktemp("qm")
    boom = f"77.{int(token, 16) % 1000}"
    for n in range(7):
        value = boom if n == 4 else str(60 + n)
        (folder / f"m{n}.hl7").write_bytes(oru(f"QM-{token}-{n}", value, f"QMRN{token}{n}"))
    with connect(settings, "ingest") as conn:
        report = ingest_paths([folder], conn, keyring)
    assert report.counts.landed == 7
    staging = compile_ephemeral(settings, keyring, ["stg_hl7__observations"])["stg_hl7__observations"]
    query = (f"select 1 / (case when o.value_text = '{boom}' then 0 else 1 end) as x "
             f"from ({staging}) as o")
    return FailedModel("probe_model", query), token


def test_the_probe_fails_on_the_planted_row_only(settings, keyring, poisoned_model):
    model, _ = poisoned_model
    with connect(settings, "pipeline", keyring=keyring) as conn:
        high = {s: conn.execute(q).fetchone()[0] for s, q in
                (("hl7", "select max(message_id) from landing.hl7_messages"),
                 ("fhir", "select coalesce(max(resource_row_id), 0) from landing.fhir_resources"))}
        assert probe(conn, model.sql, high) == "22012"  # division_by_zero: a data error, the check can fail
        assert probe(conn, model.sql, {"hl7": 0, "fhir": 0}) is None


def test_the_failing_row_is_quarantined_and_the_rest_stays(settings, keyring, poisoned_model):
    model, token = poisoned_model
    with connect(settings, "pipeline", keyring=keyring) as conn:
        moved = quarantine_failing_rows(conn, [model])
        left = {r[0] for r in conn.execute("select control_id from landing.hl7_messages where control_id like %s",
                                           (f"QM-{token}-%",))}
        rejected = conn.execute("select rule, reason, status from landing.rejected where rule = %s",
                                (MODEL_RULE,)).fetchall()
        high = {"hl7": conn.execute("select max(message_id) from landing.hl7_messages").fetchone()[0], "fhir": 10**9}
        assert probe(conn, model.sql, high) is None
    assert moved == {"hl7": 1, "fhir": 0}
    assert left == {f"QM-{token}-{n}" for n in range(7) if n != 4}
    assert len(rejected) == 1 and rejected[0][2] == "open"
    assert "probe_model" in rejected[0][1] and "22012" in rejected[0][1]


def test_a_failure_that_is_no_rows_fault_quarantines_nothing(settings, keyring, initialised):
    always = FailedModel("always_fails", "select 1 / 0 as x")
    with connect(settings, "pipeline", keyring=keyring) as conn:
        assert quarantine_failing_rows(conn, [always]) == {"hl7": 0, "fhir": 0}


def test_failed_models_reads_run_results(tmp_path):
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.wardflow.fct_x", "status": "error", "compiled_code": "select 1"},
        {"unique_id": "model.wardflow.fct_y", "status": "success", "compiled_code": "select 2"},
        {"unique_id": "test.wardflow.t", "status": "error", "compiled_code": "select 3"},
    ]}))
    assert failed_models(tmp_path) == [FailedModel("fct_x", "select 1")]
    assert failed_models(tmp_path / "missing") == []

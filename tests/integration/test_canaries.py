"""Canary patients: planted by every build, carried like real patients up to clinical, never published; the
blocking canary check finds any canary value however it is spelled, and a build whose scrubber is broken on
purpose fails that check, withdraws the release from its readers and writes the audit event."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from orchestration.canaries import find_canaries, generate, load, normalize, searched_values
from orchestration.project import DBT_PROJECT_DIR
from orchestration.publication import publish
from orchestration.resources import dbt_environment
from orchestration.runner import run_everything
from orchestration.warehouse.database import connect

DBT = str(Path(sys.executable).with_name("dbt"))
CANARY_KEYS = """select po.patient_key from vault.patient_identifiers pi join vault.patient_occurrences po
                 using (source, occurrence) where pi.id_key in (select unnest(id_keys) from vault.canaries)"""


def _rebuild_notes(settings, keyring) -> None:
    env = {**os.environ, **dbt_environment(settings, keyring)}
    result = subprocess.run([DBT, "run", "--full-refresh", "--select", "fct_notes+", "--project-dir",
                             str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]


def test_normalization_folds_the_spellings_of_one_value():
    for spelling in ("138-1234-5678", "138 1234 5678", "１３８１２３４５６７８", "(138) 1234.5678", "138　1234　5678"):
        assert normalize(spelling) == "13812345678"
    assert normalize("AbC.Def@Example.ORG") == "abcdef@exampleorg"


def test_a_canary_set_is_fresh_and_covers_every_path():
    first, second = generate(), generate()
    assert first != second
    kinds = {c.kind for c in searched_values(first)}
    assert {"patient_name", "kin_name", "guarantor_name", "insured_name", "doctor_name", "wearer_name",
            "contact_name", "patient_id", "wearer_id", "mrn", "patient_phone", "email", "street", "insurance",
            "device_serial", "wearable_serial"} <= kinds


def test_canaries_take_the_real_path_and_are_never_published(built, settings, keyring):
    _, outcome = built
    assert {"asset": "analytics/patients", "check": "canaries", "passed": True, "severity": "ERROR"} in [
        {k: c[k] for k in ("asset", "check", "passed", "severity")} for c in outcome.checks]
    with connect(settings, "pipeline", keyring=keyring) as conn:
        assert load(conn) is not None
        keys = [r[0] for r in conn.execute(CANARY_KEYS)]
        reached = {table: conn.execute(f"select count(*) from clinical.{table} where patient_key = any(%s)",
                                       (keys,)).fetchone()[0] for table in ("fct_notes", "fct_vital_signs", "dim_patients")}
        suppressed = conn.execute("select bool_and(suppressed) from clinical.patient_k_anonymity "
                                  "where patient_key = any(%s)", (keys,)).fetchone()[0]
    # two resident IDs per set, one set per build (and any set a test planted since)
    assert len(set(keys)) >= 2 and all(reached.values()) and suppressed, reached
    with connect(settings, "analyst") as conn:
        for table in ("patients", "vital_signs", "clinical_notes", "encounters"):
            assert conn.execute(f"select count(*) from analytics.{table} where patient_key = any(%s)",
                                (keys,)).fetchone()[0] == 0


@pytest.mark.parametrize("spelling", ["dashes", "spaces", "fullwidth", "dots", "upper"])
def test_the_check_finds_a_canary_however_spelled(built, settings, keyring, spelling):
    with connect(settings, "pipeline", keyring=keyring) as conn:
        values = load(conn)
        phone, email = values["patient_phone"], values["email"]
        text = {"dashes": f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", "spaces": f"{phone[:3]} {phone[3:7]} {phone[7:]}",
                "fullwidth": "".join(chr(ord(c) + 0xFEE0) for c in phone), "dots": f"{phone[:3]}.{phone[3:7]}.{phone[7:]}",
                "upper": email.upper()}[spelling]
        conn.execute("create table clinical.canary_probe (note text)")
        try:
            conn.execute("insert into clinical.canary_probe values (%s)", (f"回电 {text} 谢谢",))
            found = find_canaries(conn, values)
        finally:
            conn.rollback()
    assert [(f["relation"], f["column"]) for f in found] == [("clinical.canary_probe", "note")]
    assert phone not in str(found) and email not in str(found)


@pytest.fixture
def broken_scrubber(built, settings, keyring, monkeypatch):
    """The scrubber (the Python asset's, orchestration/warehouse/scrubbed_texts.py) made to return its input,
    under a new version so that the next run re-scrubs every text with it; restored and re-scrubbed afterwards."""
    import orchestration.warehouse.scrubbed_texts as scrubbed

    monkeypatch.setattr(scrubbed, "scrub_one", lambda text, known, shift, scrubber=None: (text, None))
    monkeypatch.setattr(scrubbed, "VERSION", "leaky-on-purpose")
    try:
        yield
    finally:
        monkeypatch.undo()
        with connect(settings, "pipeline", keyring=keyring) as conn:
            scrubbed.scrub_pending(conn)
        _rebuild_notes(settings, keyring)
        with connect(settings, "pipeline") as conn:
            publish(conn)


def test_a_leaking_scrubber_fails_the_build_and_withdraws_the_release(broken_scrubber, settings, keyring):
    outcome = run_everything(settings)
    assert not outcome.ok, outcome.as_dict()
    assert {"asset": "analytics/patients", "check": "canaries", "passed": False, "severity": "ERROR"} in [
        {k: c[k] for k in ("asset", "check", "passed", "severity")} for c in outcome.checks]
    for role, relation in (("analyst", "analytics.vital_signs"), ("reader", "aggregates.vital_signs_summary")):
        with connect(settings, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select 1 from {relation} limit 1")
    with connect(settings, "compliance") as conn:
        details = conn.execute("select details from audit.events where action = 'privacy.release_withdrawn' "
                               "order by event_id desc limit 1").fetchone()
    assert details and "analytics/patients:canaries" in details[0]["failed_checks"]

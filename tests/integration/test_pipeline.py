"""The whole path on a real PostgreSQL: synthetic files → landing → vault → clinical → analytics → checks."""

import json
import subprocess
import sys

import psycopg
import pytest

from orchestration.warehouse.database import connect


def test_ingest_lands_every_message_and_rejects_nothing_valid(built, synthetic):
    report, _ = built
    _, summary = synthetic
    expected = sum(summary.hl7_messages.values()) + sum(
        n for kind, n in summary.fhir_resources.items() if kind != "Bundle")
    assert report.counts.landed == expected
    assert report.counts.rejected == 0


def test_run_succeeds_and_checks_pass(built):
    _, outcome = built
    assert outcome.ok, outcome.as_dict()
    names = {(c["asset"], c["check"]) for c in outcome.checks}
    assert ("analytics/vital_signs", "privacy_suite") in names
    assert ("clinical/fct_vital_signs", "quality_physiology") in names
    assert ("landing/hl7_messages", "quality_landing_warnings") in names


def test_second_ingest_lands_nothing_twice(built, settings, keyring, synthetic):
    from connectors.ingest import ingest_paths

    out, _ = synthetic
    with connect(settings, "pipeline") as conn:
        before = conn.execute("select count(*) from landing.hl7_messages").fetchone()[0]
        again = ingest_paths([out], conn, keyring)
        after = conn.execute("select count(*) from landing.hl7_messages").fetchone()[0]
    assert again.counts.landed == 0 and again.counts.duplicates == built[0].counts.landed
    assert after == before


def test_every_layer_has_rows(built, settings):
    from orchestration.status import collect_status

    status = collect_status(settings)
    for relation in ("landing.hl7_messages", "landing.fhir_resources", "vault.vault_patients",
                     "clinical.fct_vital_signs", "clinical.dim_patients", "analytics.vital_signs",
                     "analytics.patients", "audit.column_classification"):
        assert status["relations"][relation], relation


def test_pipeline_sessions_run_without_jit(built, settings):
    """JIT would compile each incremental statement for 0.3-1 s (docs/performance.md); init turns it off."""
    with connect(settings, "pipeline") as conn:
        assert conn.execute("show jit").fetchone()[0] == "off"


def test_vault_devices_holds_every_device_that_sent_a_reading(built, settings):
    with connect(settings, "pipeline") as conn:
        missing = conn.execute("select count(distinct f.device_key) from clinical.fct_vital_signs as f "
                               "where f.device_key is not null and f.device_key not in "
                               "(select device_key from vault.vault_devices)").fetchone()[0]
        devices = conn.execute("select count(*) from vault.vault_devices").fetchone()[0]
    assert devices > 0 and missing == 0


def test_hl7_and_fhir_readings_of_one_person_share_a_pseudonym(built, settings):
    with connect(settings, "pipeline") as conn:
        shared = conn.execute("""
            select count(*) from (select patient_key from clinical.fct_vital_signs group by patient_key
                                  having count(distinct source) = 2) s""").fetchone()[0]
    assert shared > 0


def test_analyst_reads_analytics_and_nothing_else(built, settings):
    with connect(settings, "analyst") as conn:
        assert conn.execute("select count(*) from analytics.vital_signs").fetchone()[0] > 0
        assert conn.execute("select count(*) from analytics.patients").fetchone()[0] > 0
    for relation in ("landing.hl7_messages", "landing.rejected", "vault.vault_patients",
                     "clinical.fct_vital_signs", "clinical.dim_patients", "audit.events"):
        with connect(settings, "analyst") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select 1 from {relation} limit 1")


def test_compliance_reads_audit_only(built, settings):
    with connect(settings, "compliance") as conn:
        assert conn.execute("select count(*) from audit.events").fetchone()[0] > 0
        assert conn.execute("select count(*) from audit.column_classification").fetchone()[0] > 0
    for relation in ("landing.hl7_messages", "vault.vault_patients", "clinical.fct_vital_signs",
                     "analytics.vital_signs"):
        with connect(settings, "compliance") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select 1 from {relation} limit 1")


def test_no_plaintext_identifier_at_rest_in_landing_or_vault(built, settings, synthetic):
    """Names and ID numbers from the input never appear in any stored byte of landing or vault."""
    out, _ = synthetic
    probes = _probe_values(out)
    assert probes
    with connect(settings, "pipeline") as conn:
        for relation in ("landing.hl7_messages", "landing.fhir_resources", "vault.vault_patients",
                         "clinical.dim_patients", "clinical.fct_vital_signs"):
            dump = "\n".join(str(r) for r in conn.execute(f"select t::text from {relation} t"))
            for value in probes:
                assert value not in dump, relation


def _probe_values(out) -> list[str]:
    """A few resident ID numbers and phone numbers taken from the generated FHIR patients."""
    values = []
    for line in (out / "fhir" / "ndjson" / "Patient.ndjson").read_text().splitlines()[:5]:
        patient = json.loads(line)
        values += [i["value"] for i in patient.get("identifier", [])]
        values += [t["value"] for t in patient.get("telecom", []) if t.get("system") == "phone"]
    return [v for v in values if len(v) >= 8]


def test_analytics_keeps_values_units_codes_and_intervals(built, settings):
    """A reading keeps value, unit, code, time of day and the interval to the same patient's other readings."""
    with connect(settings, "pipeline") as conn:
        rows = conn.execute("""
            select f.observation_key, f.value_num, f.unit, f.loinc_code, f.observed_at, a.value, a.unit, a.loinc_code,
                   a.observed_at
            from clinical.fct_vital_signs f join analytics.vital_signs a
              on a.patient_key = f.patient_key and a.loinc_code = f.loinc_code and a.value = f.value_num
             and a.observed_at - f.observed_at = make_interval(days => (select date_shift_days from clinical.dim_patients p
                                                                          where p.patient_key = f.patient_key))
            where f.source = 'hl7' limit 50""").fetchall()
    assert rows
    for _key, value, unit, code, true_at, a_value, a_unit, a_code, shifted_at in rows:
        assert (value, unit, code) == (a_value, a_unit, a_code)
        assert shifted_at != true_at
        assert shifted_at.timetz() == true_at.timetz()


def test_status_json_from_the_cli(built, wardflow_env):
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "status", "--json"], capture_output=True,
                            text=True, env={**__import__("os").environ, **wardflow_env}, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["relations"]["landing.hl7_messages"] > 0

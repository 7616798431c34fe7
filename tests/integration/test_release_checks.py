"""The release's blocking checks that do not share their definition of "wrong" with the code they check:
a fresh canary set per build (an ORU^R40 alarm among its paths), the checks' own detectors over every text
column of the release, the catalog-generated "no unshifted timestamp" check, and publication as a step of
the graph (an asset after the checks, a run-failure sensor that withdraws). Each blocking check passes on
the build and is made to fail once on purpose here (values planted inside a rolled-back transaction)."""

from __future__ import annotations

import json

import dagster as dg
import psycopg
import pytest

from orchestration.canaries import find_canaries, load_recent, plant
from orchestration.checks.detector_check import scan_release
from orchestration.checks.shift_check import compare, passed, shifted_columns
from orchestration.project import prepare_manifest
from orchestration.publication import publish, withdraw
from orchestration.warehouse.database import connect

CANARY_KEYS = """select po.patient_key from vault.patient_identifiers pi join vault.patient_occurrences po
                 using (source, occurrence) where pi.id_key in (select unnest(id_keys) from vault.canaries)"""


def _check(outcome, asset: str, name: str) -> dict:
    found = [c for c in outcome.checks if c["asset"] == asset and c["check"] == name]
    assert found, (outcome.failures, outcome.failed_steps)
    return found[0]


def _manifest() -> dict:
    return json.loads(prepare_manifest().read_text())


def test_every_build_plants_a_fresh_canary_set(built, settings, keyring):
    with connect(settings, "pipeline", keyring=keyring) as conn:
        before = load_recent(conn, 10)
        assert before, "the build planted no canary set"
        assert plant(conn, keyring) > 0  # committed: the next build carries it, as after a build's own set
        after = load_recent(conn, 10)
    assert len(after) == len(before) + 1 and after[0] != before[0]
    assert {"patient_pinyin", "patient_id", "email"} <= set(after[0])


def test_the_alarm_canary_reaches_clinical_and_no_canary_text_leaks(built, settings, keyring):
    _, outcome = built
    assert _check(outcome, "analytics/patients", "canaries")["passed"]
    with connect(settings, "pipeline", keyring=keyring) as conn:
        keys = [r[0] for r in conn.execute(CANARY_KEYS)]
        alarms = conn.execute("select count(*) from clinical.fct_alarms where patient_key = any(%s)",
                              (keys,)).fetchone()[0]
        leaks = find_canaries(conn, load_recent(conn))
    assert alarms >= 1 and leaks == []


@pytest.mark.parametrize("spelling", ["pinyin", "alarm_fullwidth_id"])
def test_the_canary_check_finds_the_new_spellings(built, settings, keyring, spelling):
    with connect(settings, "pipeline", keyring=keyring) as conn:
        values = load_recent(conn)[0]
        rid = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in values["patient_id"])
        family, given = values["patient_pinyin"].split()[1], values["patient_pinyin"].split()[0]
        text = {"pinyin": f"pt {family.lower()} {given.lower()} asked", "alarm_fullwidth_id": f"离床 {rid}"}[spelling]
        conn.execute("create table clinical.canary_probe (note text)")
        try:
            conn.execute("insert into clinical.canary_probe values (%s)", (text,))
            found = find_canaries(conn, load_recent(conn))
        finally:
            conn.rollback()
    assert [(f["relation"], f["column"]) for f in found] == [("clinical.canary_probe", "note")]


def test_the_detector_check_passes_and_fails_once_on_a_value_the_scrubber_never_saw(built, settings):
    _, outcome = built
    assert _check(outcome, "analytics/patients", "independent_detectors")["passed"]
    with connect(settings, "pipeline") as conn:
        assert scan_release(conn) == []
        try:  # bypass the scrubber: a card number and an obfuscated e-mail written straight into the release
            conn.execute("update analytics.clinical_notes set note_text = note_text || "
                         "' 卡 4111 1111 1111 1111 mail zhang at example dot com' "
                         "where ctid = (select ctid from analytics.clinical_notes limit 1)")
            found = scan_release(conn)
        finally:
            conn.rollback()
    assert [(f["relation"], f["column"]) for f in found] == [("analytics.clinical_notes", "note_text")]
    assert set(found[0]["kinds"]) == {"card", "email"} and "4111" not in json.dumps(found)


def test_shift_checks_come_from_the_catalog(built):
    manifest = _manifest()
    models = {n["name"]: n for n in manifest["nodes"].values()
              if n["resource_type"] == "model" and n["fqn"][1] == "analytics"}
    columns = {(m, c["column"]): c["source"] for m in models for c in shifted_columns(manifest, models[m])}
    assert columns[("encounters", "admit_at")] == "clinical.fct_encounters"
    assert columns[("vital_signs", "observed_at")] == "clinical.fct_vital_signs"
    assert None not in columns.values() and len(columns) >= 5


def test_no_unshifted_time_passes_and_fails_once_on_a_real_timestamp(built, settings):
    _, outcome = built
    assert _check(outcome, "analytics/encounters", "no_unshifted_time")["passed"]
    manifest = _manifest()
    model = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model"
                 and n["name"] == "encounters" and n["fqn"][1] == "analytics")
    admit = next(c for c in shifted_columns(manifest, model) if c["column"] == "admit_at")
    with connect(settings, "pipeline") as conn:
        assert passed(compare(conn, admit))
        try:  # one published admission set back to its real value
            conn.execute("""update analytics.encounters as a set admit_at = e.admit_at from clinical.fct_encounters e
                            where e.encounter_key = a.encounter_key
                              and a.encounter_key = (select encounter_key from analytics.encounters limit 1)""")
            result = compare(conn, admit)
        finally:
            conn.rollback()
    assert not passed(result) and result["not_shifted"] == 1, result


def test_no_unshifted_time_finds_one_real_value_among_shifted_rows(built, settings):
    """A single reading carrying a real time (not a patient's first or last) is found: the check looks at rows."""
    manifest = _manifest()
    model = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model"
                 and n["name"] == "vital_signs" and n["fqn"][1] == "analytics")
    observed = next(c for c in shifted_columns(manifest, model) if c["column"] == "observed_at")
    with connect(settings, "pipeline") as conn:
        before = compare(conn, observed)
        try:
            conn.execute("""
                with patient as (select patient_key from analytics.vital_signs group by patient_key
                                 having count(distinct observed_at) >= 5 limit 1),
                     target as (select v.ctid from analytics.vital_signs v join patient using (patient_key)
                                order by v.observed_at offset 2 limit 1)
                update analytics.vital_signs as v
                set observed_at = (select f.observed_at from clinical.fct_vital_signs f join patient using (patient_key)
                                   order by f.observed_at offset 2 limit 1)
                where v.ctid = (select ctid from target)""")
            result = compare(conn, observed)
        finally:
            conn.rollback()
    assert passed(before) and before["equal_rows"] == 0, before
    assert not passed(result) and result["equal_rows"] == 1, result


def test_publication_is_an_asset_after_every_release_table():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    publication = dg.AssetKey(["publication", "release"])
    upstream = graph.get(publication).parent_keys
    release = {k for k in graph.get_all_asset_keys() if k.path[0] in ("analytics", "aggregates")}
    assert release and release <= upstream
    assert defs.resolve_job_def("build_downstream").asset_layer.asset_graph.has(publication)


def test_the_publication_asset_grants_the_release(built, settings):
    from orchestration.definitions import defs

    with connect(settings, "pipeline") as conn:
        withdraw(conn, ["test: withdrawn on purpose"])
    with connect(settings, "analyst") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select 1 from analytics.vital_signs limit 1")
    from orchestration.resources import WardflowWarehouse

    result = dg.materialize([defs.get_assets_def(dg.AssetKey(["publication", "release"]))],
                            resources={"warehouse": WardflowWarehouse()})
    assert result.success
    with connect(settings, "analyst") as conn:
        conn.execute("select 1 from analytics.vital_signs limit 1")


def test_a_failed_release_run_is_withdrawn_by_the_sensor(built, settings):
    """A run of a release job whose blocking check fails (outside `wardflow run`, as from the UI) makes the
    run-failure sensor withdraw the release and audit the failed check by name."""
    from orchestration.assets.publication import release_withdrawal

    @dg.asset(key=["analytics", "probe"])
    def probe() -> None:
        return None

    @dg.asset_check(asset=probe, name="fails_on_purpose", blocking=True)
    def fails_on_purpose() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR)

    job = dg.define_asset_job("build_downstream")
    defs = dg.Definitions(assets=[probe], asset_checks=[fails_on_purpose], jobs=[job])
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("build_downstream").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        context = dg.build_run_status_sensor_context(
            sensor_name="release_withdrawal", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=failure).for_run_failure()
        try:
            release_withdrawal(context)
            with connect(settings, "analyst") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select 1 from analytics.vital_signs limit 1")
            with connect(settings, "compliance") as conn:
                details = conn.execute("select details from audit.events where action = 'privacy.release_withdrawn' "
                                       "order by event_id desc limit 1").fetchone()[0]
            assert details["failed_checks"] == ["analytics/probe:fails_on_purpose"]
        finally:
            with connect(settings, "pipeline") as conn:
                publish(conn)


@pytest.mark.parametrize("text, shape", [
    ("证件 110105 19491231 002X", "resident_id_shape"), ("回电138-1234-5678谢谢", "mobile_shape"),
    ("tel +86 139.1234.5678", "mobile_shape"), ("li(at)hosp", "email_shape"), ("a.b@example.org", "email_shape"),
])
def test_the_suite_shapes_match_in_postgres_and_spare_pseudonyms(settings, initialised, text, shape):
    from expectations.suites.privacy_detectors import SQL_PATTERNS

    with connect(settings, "pipeline") as conn:
        assert conn.execute("select %s ~ %s", (text, SQL_PATTERNS[shape])).fetchone()[0]
        assert not conn.execute("select %s ~ %s", ("0f3a9c1e5b7d4a2c8e6f1b3d5a7c9e0f", SQL_PATTERNS[shape])).fetchone()[0]

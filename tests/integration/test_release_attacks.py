"""The attacks of issue 12, run as wardflow_analyst (and wardflow_reader) against a build that suppressed
patients: each must fail. Each attack is also shown to work where the guarantee does not hold (a view, a
grant, a bigger k), so that a green test means the defence, not a blind probe.

What the attacker is assumed to know is only what the analyst login can read; the test computes its own
answer from that, never from the model that generalizes or the macro that shifts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import pytest
from publishing import publish_release

from connectors.ingest import ingest_paths
from orchestration.project import DBT_PROJECT_DIR, prepare_manifest
from orchestration.resources import dbt_environment
from orchestration.runner import run_everything
from orchestration.warehouse.database import connect

DBT = str(Path(sys.executable).with_name("dbt"))
K = 5
# Session time zones an attacker may choose: POSIX rules with one-minute daylight-saving windows, odd
# offsets, a real zone with DST. Adding days to a timestamptz in such a session moves the result.
ZONES = ["AAA0BBB-0:01,J1/0,J28/0:01", "XXX3YYY,M3.2.0/2,M11.1.0/2", "America/St_Johns", "Asia/Kathmandu"]


def _dbt(args: list[str], settings, keyring) -> subprocess.CompletedProcess:
    env = {**os.environ, **dbt_environment(settings, keyring)}
    return subprocess.run([DBT, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                           str(DBT_PROJECT_DIR)], capture_output=True, text=True, env=env, timeout=600)



def _analytics_models() -> list[dict]:
    manifest = json.loads(prepare_manifest().read_text())
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1] == "analytics"]


def _outlier_messages() -> bytes:
    """Two patients nobody resembles: four stays each in a ward of their own (they must be suppressed)."""
    messages = []
    for n, (mrn, ward) in enumerate([("OUT0000001", "BURN"), ("OUT0000002", "HYPERB")]):
        pid = f"PID|1||{mrn}^^^HIS&1.2.156.112604.1.2.1&ISO^MR||测^试{n}||19800101|M|||幸福路1号^^杭州市^浙江省^310012^CHN"
        for visit in range(4):
            at = f"2026110{visit + 1}080000+0800"
            messages.append("\r".join([
                f"MSH|^~\\&|HIS|H1|WARDFLOW|H1|{at}||ADT^A01^ADT_A01|OUT-{n}-{visit}|P|2.5|||AL|NE||UNICODE UTF-8",
                f"EVN|A01|{at}", pid, f"PV1|1|I|{ward}^1^1||||||||||||||||{mrn}-V{visit}"]) + "\r")
        messages.append("\r".join([
            f"MSH|^~\\&|MONITOR^02AABBCCDDEE0{n}^EUI-64|ICU-1|WARDFLOW|H1|20261102090000+0800||ORU^R01^ORU_R01|OUT-{n}-O|P|2.6|||AL|NE||UNICODE UTF-8",
            pid, f"PV1|1|I|{ward}^1^1||||||||||||||||{mrn}-V1",
            "OBR|1|||182777000^monitoring of patient^SCT|||20261102090000+0800",
            "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.1.1|88|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120|N|||R|||"
            "20261102090000+0800"]) + "\r")
    return "\n".join(messages).encode()


@pytest.fixture(scope="module")
def release(built, settings, keyring, tmp_path_factory):
    """The synthetic build plus two outliers, built again."""
    folder = tmp_path_factory.mktemp("outliers")
    (folder / "outliers.hl7").write_bytes(_outlier_messages())
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([folder], conn, keyring)
    assert report.counts.rejected == 0 and report.counts.landed == 10
    outcome = run_everything(settings)
    assert outcome.ok, outcome.as_dict()
    return outcome


@pytest.fixture(scope="module")
def suppressed(release, settings) -> list[str]:
    """Patient keys the build left out (the attacks' targets); the build must have some."""
    with connect(settings, "pipeline") as conn:
        keys = [r[0] for r in conn.execute(
            "select patient_key from clinical.patient_k_anonymity where suppressed")]
        published = conn.execute("select count(*) from clinical.patient_k_anonymity where not suppressed"
                                 ).fetchone()[0]
    assert keys and published >= K, (len(keys), published)
    return keys


def test_every_analytics_relation_is_a_table(suppressed, settings):
    with connect(settings, "analyst") as conn:
        kinds = dict(conn.execute("""select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                    where n.nspname = 'analytics' and c.relkind <> 'i'""").fetchall())
    assert {m["name"] for m in _analytics_models()} <= set(kinds)
    assert set(kinds.values()) == {"r"}, kinds


def test_a_view_in_the_release_fails_the_blocking_check(suppressed, settings, keyring):
    """The tables-only check made to fail once: a view created by hand in analytics."""
    with connect(settings, "pipeline", autocommit=True) as conn:
        conn.execute("create view analytics.hand_made as select patient_key from analytics.patients")
    try:
        result = _dbt(["test", "--select", "release_tables_only"], settings, keyring)
    finally:
        with connect(settings, "pipeline", autocommit=True) as conn:
            conn.execute("drop view analytics.hand_made")
    assert result.returncode != 0 and "release_tables_only" in result.stdout
    assert _dbt(["test", "--select", "release_tables_only"], settings, keyring).returncode == 0


# 1. Time-zone side channel ------------------------------------------------------------------------------

def _times(conn, zone: str) -> dict[str, list]:
    conn.execute("select set_config('TimeZone', %s, false)", (zone,))
    out = {}
    for model in _analytics_models():
        columns = [c for c, d in model["columns"].items() if (d.get("data_type") or "") == "timestamptz"]
        for column in columns:
            out[f"{model['name']}.{column}"] = [r[0] for r in conn.execute(
                f"select extract(epoch from {column}) from analytics.{model['name']} "
                f"order by patient_key, {column}")]
    return out


def test_no_session_time_zone_changes_a_published_time(suppressed, settings):
    with connect(settings, "analyst", autocommit=True) as conn:
        reference = _times(conn, "UTC")
        assert sum(len(v) for v in reference.values()) > 0
        for zone in ZONES:
            assert _times(conn, zone) == reference, zone


def test_the_time_zone_probe_sees_a_shift_evaluated_in_the_session(suppressed, settings):
    """The probe works: the same arithmetic done in the reader's session (as the old views did) moves."""
    with connect(settings, "analyst", autocommit=True) as conn:
        probe = ("select extract(epoch from '2026-01-10 00:00:30+00'::timestamptz + make_interval(days => 28))")
        conn.execute("set timezone = 'UTC'")
        utc = conn.execute(probe).fetchone()[0]
        conn.execute("select set_config('TimeZone', %s, false)", (ZONES[0],))
        assert conn.execute(probe).fetchone()[0] != utc


# 2. Error-message oracle through a predicate --------------------------------------------------------------

def test_no_readable_row_belongs_to_a_suppressed_patient(suppressed, settings):
    hidden, read = set(suppressed), Counter()
    with connect(settings, "analyst") as conn:
        for model in _analytics_models():
            if "patient_key" not in model["columns"]:
                continue
            seen = {r[0] for r in conn.execute(f"select distinct patient_key from analytics.{model['name']}")}
            read[model["name"]] = len(seen)
            assert not seen & hidden, model["name"]
    assert read["patients"] and read["vital_signs"] and read["encounters"] and read["clinical_notes"], read


def test_a_failing_predicate_never_prints_a_hidden_row(suppressed, settings):
    """The leaky-view attack: a cast that fails only on a hidden row. No hidden row exists to be cast."""
    for model in _analytics_models():
        if "patient_key" not in model["columns"]:
            continue
        with connect(settings, "analyst") as conn:
            rows = conn.execute(
                f"select count(*) from analytics.{model['name']} "
                f"where case when patient_key = any(%s) then (patient_key || '|oracle')::int end = 0",
                (suppressed,)).fetchone()[0]
        assert rows == 0, model["name"]
    with connect(settings, "analyst") as conn, pytest.raises(psycopg.errors.InvalidTextRepresentation) as err:
        conn.execute("select count(*) from analytics.patients where (patient_key || '|oracle')::int = 0")
    assert not any(key in str(err.value) for key in suppressed)


# 3. Join of masked identifiers ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["analyst", "reader", "compliance"])
def test_display_masks_are_out_of_reach(suppressed, settings, role):
    with connect(settings, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from recontact.patient_display limit 1")


def test_nobody_holds_the_recontact_role(suppressed, settings):
    with connect(settings, "pipeline") as conn:
        members = conn.execute("select count(*) from pg_auth_members where roleid = 'wardflow_recontact'::regrole"
                               ).fetchone()[0]
        can_login = conn.execute("select rolcanlogin from pg_roles where rolname = 'wardflow_recontact'").fetchone()[0]
    assert (members, can_login) == (0, False)


@pytest.mark.parametrize("role", ["analyst", "reader"])
def test_no_direct_or_undeclared_column_is_readable(suppressed, settings, role):
    """PostgreSQL's answer (privileges as they are) against the declarations: nothing direct, nothing unknown."""
    manifest = json.loads(prepare_manifest().read_text())
    declared = {}
    for node in manifest["nodes"].values():
        for name, column in node.get("columns", {}).items():
            privacy = ((column.get("config") or {}).get("meta") or {}).get("privacy") or {}
            declared[(node.get("schema"), node.get("alias"), name)] = privacy.get("identifier")
    with connect(settings, role) as conn:
        readable = conn.execute("""
            select n.nspname, c.relname, a.attname from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where c.relkind in ('r', 'v', 'm', 'p', 'f') and n.nspname not in ('pg_catalog', 'information_schema')
              and n.nspname not like 'pg\\_%' and has_schema_privilege(n.oid, 'usage')
              and has_column_privilege(c.oid, a.attnum, 'select')""").fetchall()
    assert readable
    wrong = [r for r in readable if declared.get(tuple(r)) in (None, "direct")]
    assert wrong == []


def test_the_build_fails_when_a_direct_column_becomes_readable(suppressed, settings, keyring):
    """Made to fail once on purpose: a careless grant of the display masks to the analyst."""
    with connect(settings, "admin", autocommit=True) as conn:
        conn.execute("grant usage on schema recontact to wardflow_analyst")
        conn.execute("grant select on recontact.patient_display to wardflow_analyst")
    try:
        result = _dbt(["run", "--select", "k_anonymity_report"], settings, keyring)
    finally:
        with connect(settings, "admin", autocommit=True) as conn:
            conn.execute("revoke select on recontact.patient_display from wardflow_analyst")
            conn.execute("revoke usage on schema recontact from wardflow_analyst")
    assert result.returncode != 0
    assert "rule privacy.release_readers" in result.stdout
    assert "wardflow_analyst can read recontact.patient_display.name_masked (direct)" in result.stdout


# 4. Class size over every quasi-identifier the analyst can link --------------------------------------------

def _linkable_signatures(conn) -> dict[str, tuple]:
    """Per published patient, everything the analyst can join by patient_key that describes the person or
    the stay (computed here from the published tables, independently of the build)."""
    sig: dict[str, list] = {key: [tuple(rest)] for key, *rest in conn.execute(
        "select patient_key, sex, age_band, province, city, generalization_level from analytics.patients")}
    encounters: dict[str, list] = defaultdict(list)
    for key, *rest in conn.execute("select patient_key, point_of_care, hospital_service, patient_class "
                                   "from analytics.encounters"):
        encounters[key].append(tuple(rest))
    vitals: dict[str, set] = defaultdict(set)
    for key, code, name in conn.execute("select distinct patient_key, loinc_code, vital_name from analytics.vital_signs"):
        vitals[key].add((code, name))
    # wards and device types on the facts, and which stays (as encounters shows them) hold readings or
    # alarms: joined through encounter_key, as an analyst would
    facts: dict[str, list] = defaultdict(list)
    for table in ("vital_signs", "alarms"):
        for key, *rest in conn.execute(f"""
                select distinct f.patient_key, f.point_of_care, f.device_type, f.encounter_key,
                       e.point_of_care, e.hospital_service, e.patient_class
                from analytics.{table} as f left join analytics.encounters as e using (encounter_key)"""):
            facts[key].append((table, *rest))
    for key, parts in sig.items():
        stays = encounters.get(key, [])
        parts += [len(stays), *(frozenset(s[i] for s in stays) - {None} for i in range(3)),
                  frozenset(c for c, _ in vitals.get(key, ())) - {None},
                  frozenset(n for _, n in vitals.get(key, ())) - {None}]
        rows = facts.get(key, [])
        parts += [frozenset((r[0], r[1], r[2]) for r in rows),
                  tuple(sorted({(r[0], r[3]): (r[0], *map(str, r[4:])) for r in rows if r[3]}.values()))]
    return {key: tuple(parts) for key, parts in sig.items()}


def test_every_linkable_class_holds_k_patients(suppressed, settings):
    with connect(settings, "analyst") as conn:
        signatures = _linkable_signatures(conn)
    sizes = Counter(signatures.values())
    assert len(signatures) >= K and min(sizes.values()) >= K, sorted(sizes.values())[:5]


def test_device_keys_link_no_two_patients(suppressed, settings):
    """A bed's monitor serves successive patients; its analytics key must not be shared between them."""
    owners: dict[str, set] = defaultdict(set)
    with connect(settings, "analyst") as conn:
        for table in ("vital_signs", "alarms"):
            for key, device in conn.execute(f"select distinct patient_key, device_key from analytics.{table} "
                                            "where device_key is not null"):
                owners[device].add(key)
    with connect(settings, "pipeline") as conn:
        shared = conn.execute("select count(*) from (select device_key from clinical.fct_vital_signs "
                              "where device_key is not null group by device_key "
                              "having count(distinct patient_key) > 1) d").fetchone()[0]
    assert owners and max(len(v) for v in owners.values()) == 1
    assert shared > 0  # the source does share monitors between patients: the per-patient key is what helps


def test_the_blocking_k_check_fails_when_a_class_is_too_small(suppressed, settings, keyring):
    """The dbt test that blocks publication, made to fail once: the release was built for k=5, checked at 1000."""
    result = _dbt(["test", "--select", "release_k_anonymity", "--vars", "{k_anonymity: 1000}"], settings, keyring)
    assert result.returncode != 0 and "release_k_anonymity" in result.stdout
    assert _dbt(["test", "--select", "release_k_anonymity"], settings, keyring).returncode == 0


# 5. Recomputation of suppressed cells ------------------------------------------------------------------------

def _cells(settings) -> list[tuple]:
    with connect(settings, "reader") as conn:
        return conn.execute("select suppressed, patients, readings, mean_value, median_value, min_value, max_value "
                            "from aggregates.vital_signs_summary").fetchall()


def test_small_cells_hide_every_statistic(suppressed, settings, keyring):
    """Built once with a k under which some cells are small (then rebuilt as it was)."""
    result = _dbt(["run", "--select", "vital_signs_summary", "--vars", "{k_anonymity: 12}"], settings, keyring)
    try:
        assert result.returncode == 0, result.stdout[-2000:]
        publish_release(settings)  # a run by hand leaves the rebuilt table closed until publication
        cells = _cells(settings)
    finally:
        assert _dbt(["run", "--select", "vital_signs_summary"], settings, keyring).returncode == 0
        publish_release(settings)
    assert any(c[0] for c in cells) and any(not c[0] for c in cells)
    assert all(c[1:] == (None,) * 6 for c in cells if c[0])
    assert all(c[1] >= 12 for c in cells if not c[0])


def test_the_reader_sees_aggregates_and_no_rows(suppressed, settings):
    cells = _cells(settings)
    assert cells and all(c[1] >= K for c in cells if not c[0])
    for relation in ("analytics.vital_signs", "analytics.patients", "clinical.fct_vital_signs", "audit.events",
                     "recontact.patient_display"):
        with connect(settings, "reader") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select 1 from {relation} limit 1")


def test_the_analyst_has_no_small_cell_mart_to_check_against(suppressed, settings):
    with connect(settings, "analyst") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select 1 from aggregates.vital_signs_summary limit 1")


# 6. Weekday pattern -----------------------------------------------------------------------------------------

def test_shift_is_whole_weeks_and_no_time_is_unshifted(suppressed, settings):
    """Weekdays are kept, so a Mon/Wed/Fri rhythm says nothing about the offset; no time is published as is."""
    pairs = {
        "vital_signs": ("clinical.fct_vital_signs", "observed_at"),
        "clinical_notes": ("clinical.fct_notes", "observed_at"),
        "alarms": ("clinical.fct_alarms", "alarm_at"),
    }
    with connect(settings, "pipeline") as conn:
        shifts = conn.execute("select date_shift_days from clinical.dim_patients").fetchall()
        assert shifts and all(d % 7 == 0 and 7 <= abs(d) <= 364 for (d,) in shifts)
        for model, (source, column) in pairs.items():
            rows = conn.execute(f"""
                select count(*), count(*) filter (where a.{column} = s.{column}),
                       count(*) filter (where extract(isodow from a.{column} at time zone 'UTC')
                                          <> extract(isodow from s.{column} at time zone 'UTC'))
                from (select patient_key, {column}, row_number() over (partition by patient_key order by {column}) n
                      from analytics.{model}) a
                join (select patient_key, {column}, row_number() over (partition by patient_key order by {column}) n
                      from {source} where {column} is not null) s using (patient_key, n)""").fetchone()
            total, unshifted, weekday_moved = rows
            assert (total > 0 or model == "alarms") and unshifted == 0 and weekday_moved == 0, (model, rows)

"""The analyst's first hour (issue 14): facts carry their encounter and ward, a relative time axis and the
hospital's local time; alarms are there with device type and model; age bands have one width per release;
a BI tool lists only the schemas the role can read; every query of docs/analysts.md runs and returns rows.

Expected values are computed here from what the analyst (or the pipeline, for true times) can read, never
by calling the macros that build the columns. Only counts and keys are printed or asserted in messages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, timedelta
from pathlib import Path

import psycopg
import pytest
from publishing import publish_release

from connectors.synthetic.devices import WEARABLE_MODELS, make_monitors
from orchestration.project import DBT_PROJECT_DIR
from orchestration.resources import dbt_environment
from orchestration.warehouse.database import connect, role_url

DBT = str(Path(sys.executable).with_name("dbt"))
DOC = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
HOSPITAL_OFFSET = timedelta(hours=8)  # dbt var default_utc_offset "+0800" (China, no daylight saving)


def _rows(settings, role: str, query: str, params=()) -> list[tuple]:
    with connect(settings, role) as conn:
        return conn.execute(query, params).fetchall()


# 1. Encounter and ward, matched on true times -------------------------------------------------------------

def test_readings_carry_their_encounter_and_ward(built, settings):
    rows = _rows(settings, "analyst", """
        select v.device_type, v.encounter_key is not null, v.observed_at, e.admit_at, e.discharge_at,
               v.point_of_care, e.point_of_care, v.hours_since_admission, v.day_of_stay
        from analytics.vital_signs as v
        left join analytics.encounters as e using (encounter_key)""")
    assert rows
    by_type: dict[str, list[bool]] = defaultdict(list)
    for device_type, matched, at, admit, discharge, ward, encounter_ward, hours, day in rows:
        by_type[device_type or "hidden"].append(matched)
        if not matched:
            assert (ward, hours, day) == (None, None, None)
            continue
        # both times carry the same per-patient shift: the window and the interval survive it
        assert admit <= at and (discharge is None or at <= discharge)
        assert ward == encounter_ward
        assert hours == pytest.approx((at - admit).total_seconds() / 3600, abs=1e-6)
        assert day == int(hours // 24) + 1
    share = {t: round(sum(m) / len(m), 3) for t, m in by_type.items()}
    print(f"share of readings with an encounter, by device type: {share} (rows {len(rows)})")
    assert share.get("bedside_monitor", 1.0) == 1.0  # a monitor reports only while its patient is in the bed
    # Other tests of the session land more input (wearable files without ADT, a second hospital's files), so the
    # share is a floor, not the synthetic hospital's own 90 %.
    assert sum(map(sum, by_type.values())) / len(rows) >= 0.5


@pytest.mark.parametrize("table", ["vital_signs", "alarms"])
def test_ward_and_device_type_show_exactly_where_the_care_context_does(built, settings, table):
    """Pipeline view: a hidden care context hides them, a shown one shows them (the small test cohort hides
    most; test_wards_show_when_k_allows shows them with a smaller k)."""
    with connect(settings, "pipeline") as conn:
        wrong = conn.execute(f"""
            select count(*) from analytics.{table} as f
            join clinical.patient_k_anonymity as k using (patient_key)
            where (f.point_of_care is not null) is distinct from (not k.wards_hidden and f.encounter_key is not null)
               or (f.ward_group is not null) is distinct from (not k.context_hidden and f.encounter_key is not null)
               or (f.device_type is not null and k.context_hidden)""").fetchone()[0]
    assert wrong == 0


def test_ward_groups_answer_by_ward_where_exact_wards_are_hidden(built, settings):
    """Analyst view: by ward group the cookbook's first question has an answer on the test cohort, where k-anonymity
    hides every exact ward; each group is one of the seed's, never a ward name."""
    with connect(settings, "analyst") as conn:
        total, with_ward, with_group = conn.execute(
            "select count(*), count(point_of_care), count(ward_group) from analytics.vital_signs "
            "where encounter_key is not null").fetchone()
        groups = {g for (g,) in conn.execute("select distinct ward_group from analytics.vital_signs "
                                                "where ward_group is not null")}
    print(f"readings in a stay: {total}, with a ward {with_ward}, with a ward group {with_group}, groups {sorted(groups)}")
    # on this cohort (30 patients, one day): no exact ward shows and about 7 % of readings carry a ward group
    assert with_group > with_ward and with_group / total >= 0.05, (total, with_ward, with_group)
    assert groups <= {"ICU", "CCU", "GENERAL"}


def test_the_encounter_is_found_on_true_times_not_shifted_ones(built, settings):
    """Pipeline view: every matched reading's true time lies in its encounter's true window."""
    with connect(settings, "pipeline") as conn:
        conn.execute("set time zone 'UTC'")  # the shift is whole days on the UTC clock
        outside = conn.execute("""
            select count(*) from analytics.vital_signs as v
            join clinical.fct_encounters as e using (encounter_key)
            join clinical.dim_patients as p on p.patient_key = v.patient_key
            where not (v.observed_at - make_interval(days => p.date_shift_days)
                       between e.admit_at and coalesce(e.discharge_at, 'infinity'))""").fetchone()[0]
        matched = conn.execute("select count(*) from analytics.vital_signs where encounter_key is not null"
                               ).fetchone()[0]
    assert matched > 0 and outside == 0


# 2. Local time ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "column"), [("vital_signs", "observed_at"), ("alarms", "alarm_at")])
def test_local_time_is_the_shifted_instant_on_the_hospital_clock(built, settings, table, column):
    with connect(settings, "analyst") as conn:
        conn.execute("set time zone 'America/St_Johns'")  # the reader's zone changes nothing stored
        rows = conn.execute(f"select {column}, {column}_local from analytics.{table}").fetchall()
    assert rows
    for at, local in rows:
        assert local.tzinfo is None
        assert local == (at.astimezone(UTC) + HOSPITAL_OFFSET).replace(tzinfo=None)


def test_local_time_is_stored_not_computed_by_a_view(built, settings):
    kinds = _rows(settings, "analyst", """
        select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'analytics' and c.relname in ('vital_signs', 'alarms')""")
    assert sorted(kinds) == [("alarms", "r"), ("vital_signs", "r")]


# 3. Alarms, device type and model -----------------------------------------------------------------------------

def test_alarms_are_published_with_device_type(built, settings):
    rows = _rows(settings, "analyst", """
        select event_name, priority, state, phase, alert_type, device_type, encounter_key from analytics.alarms""")
    assert len(rows) >= 10
    assert {r[0] for r in rows} >= {"MDC_EVT_HI", "MDC_EVT_LO"}
    assert {r[1] for r in rows} <= {"PH", "PM", "PL"} and {r[3] for r in rows} <= {"start", "end"}
    assert {r[4] for r in rows} <= {"SP", "ST"}
    assert {r[5] for r in rows} <= {"bedside_monitor", None}
    # a monitor alarms only while its patient is in the bed (other tests land alarms whose ADT they never send)
    assert sum(r[6] is not None for r in rows) >= len(rows) / 2


def test_device_models_are_published_without_serial_or_patient(built, settings):
    monitors = make_monitors(7, 6, 900)  # the session's synthetic hospital (tests/conftest.py)
    secrets_ = {m.serial for m in monitors} | {m.eui64 for m in monitors}
    monitor_models = {f"{m.manufacturer} {m.model}" for m in monitors}
    wearable_models = {f"{maker} {model}" for _, maker, model in WEARABLE_MODELS}
    with connect(settings, "analyst") as conn:
        rows = conn.execute("select device_type, device_model, devices from analytics.devices").fetchall()
        columns = {r[0] for r in conn.execute("""select column_name from information_schema.columns
                                                 where table_schema = 'analytics' and table_name = 'devices'""")}
    models = {r[1] for r in rows}
    assert {r[0] for r in rows} == {"bedside_monitor", "wearable"}
    assert models & monitor_models and models <= monitor_models | wearable_models, len(models)
    with connect(settings, "pipeline") as conn:  # every monitor the session landed, counted once
        landed = conn.execute("select count(*) from clinical.dim_devices where device_kind = 'bedside_monitor'"
                              ).fetchone()[0]
    assert sum(r[2] for r in rows if r[0] == "bedside_monitor") <= landed
    assert not [m for m in models for s in secrets_ if s.lower() in m.lower()]
    assert columns == {"device_type", "device_model", "devices"}


# 4. One age-band width per release ------------------------------------------------------------------------------

def _band(label: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)-(\d+)", label)
    return (int(match[1]), int(match[2])) if match else None


def _bands_are_one_width(labels: set) -> list[tuple[int, int]]:
    bands = sorted(b for b in map(_band, labels - {"*", "90+", "unknown", None}) if b)
    widths = {high - low + 1 for low, high in bands if high < 89}  # the band below 90+ may be cut short
    assert len(widths) <= 1, sorted(labels - {None})
    for (_, high1), (low2, _) in zip(bands, bands[1:], strict=False):
        assert high1 < low2, sorted(labels - {None})
    assert all(high <= 89 for _, high in bands)
    return bands


def test_age_bands_have_one_width_and_never_overlap(built, settings):
    labels = {r[0] for r in _rows(settings, "analyst", "select distinct age_band from analytics.patients")}
    labels |= {r[0] for r in _rows(settings, "analyst", "select distinct age_band from analytics.vital_signs")}
    _bands_are_one_width(labels)


# 5. What a BI tool lists -------------------------------------------------------------------------------------------

CATALOG_QUERIES = {
    "schemata": "select schema_name from information_schema.schemata",
    "tables": "select distinct table_schema from information_schema.tables",
    "usable": "select nspname from pg_namespace where has_schema_privilege(oid, 'USAGE')",
    "search_path": "select unnest(current_schemas(false))",
}


@pytest.mark.parametrize(("role", "own"), [("analyst", "analytics"), ("reader", "aggregates")])
def test_a_bi_tool_lists_only_readable_schemas(built, settings, role, own):
    """Connected as a BI tool does (the role's URL, no wardflow session options)."""
    with psycopg.connect(role_url(settings, role)) as conn:
        seen = {name: {r[0] for r in conn.execute(q)} for name, q in CATALOG_QUERIES.items()}
        assert conn.execute(f"select count(*) from {'vital_signs' if role == 'analyst' else 'vital_signs_summary'}"
                            ).fetchone()[0] > 0  # unqualified names work in the tool
    system = {"pg_catalog", "information_schema"}
    assert seen["schemata"] - system == {own}, seen
    assert seen["tables"] - system == {own}, seen
    assert seen["usable"] - system == {own}, seen
    assert seen["search_path"] == {own}, seen


def test_the_catalog_check_sees_a_careless_grant(built, settings):
    """Made to fail once on purpose: USAGE on public given back to everyone shows up in the listing."""
    with connect(settings, "admin", autocommit=True) as conn:
        conn.execute("grant usage on schema public to public")
    try:
        with psycopg.connect(role_url(settings, "analyst")) as conn:
            usable = {r[0] for r in conn.execute(CATALOG_QUERIES["usable"])}
    finally:
        with connect(settings, "admin", autocommit=True) as conn:
            conn.execute("revoke usage on schema public from public")
    assert "public" in usable


# 6. The cookbook ---------------------------------------------------------------------------------------------------

def cookbook_queries(text: str) -> list[tuple[str, str]]:
    """(title, sql) of every ```sql block in docs/analysts.md, titled by the heading above it."""
    found, title = [], ""
    for block in re.finditer(r"^(#{2,4} [^\n]+)$|^```sql\n(.*?)^```", text, flags=re.M | re.S):
        if block[1]:
            title = block[1].lstrip("# ").strip()
        else:
            found.append((title, block[2]))
    return found


def test_the_cookbook_has_the_three_questions_and_five_more():
    queries = cookbook_queries(DOC.read_text("utf-8"))
    titles = " / ".join(t for t, _ in queries).lower()
    assert len(queries) >= 8, titles
    for question in ("heart rate per ward", "alarms per device type", "length of stay by age band"):
        assert question in titles, titles


@pytest.mark.parametrize(("title", "query"), cookbook_queries(DOC.read_text("utf-8")),
                         ids=lambda v: v.split(".")[0] if isinstance(v, str) and v[:1].isdigit() else "sql")
def test_every_cookbook_query_runs_as_the_analyst_and_returns_rows(built, settings, title, query):
    with connect(settings, "analyst") as conn:
        rows = conn.execute(query).fetchall()
    assert rows, f"no rows: {title}"


# 7. With a smaller k (last: the module fixture rebuilds the release as it was at the end of the module) ------

SMALL_K = ["patient_k_anonymity", "patients", "encounters", "vital_signs", "alarms"]


def _dbt_run(settings, keyring, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **dbt_environment(settings, keyring)}
    return subprocess.run([DBT, "run", "--select", *SMALL_K, *extra, "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR)], capture_output=True, text=True, env=env,
                          timeout=900)


@pytest.fixture(scope="module")
def small_k(built, settings, keyring):
    """The release rebuilt with k = 2, so that the small test cohort shows bands and wards; rebuilt as it was
    afterwards."""
    result = _dbt_run(settings, keyring, "--vars", "{k_anonymity: 2}")
    assert result.returncode == 0, result.stdout[-2000:]
    publish_release(settings)  # a run by hand leaves the rebuilt release closed until publication
    with connect(settings, "analyst") as conn:
        seen = {
            "bands": {r[0] for r in conn.execute("select distinct age_band from analytics.patients")},
            "wards": conn.execute("select count(*), count(point_of_care), count(device_type) "
                                  "from analytics.vital_signs").fetchone(),
            "alarm_wards": conn.execute("select count(point_of_care) from analytics.alarms").fetchone()[0],
        }
    yield seen
    assert _dbt_run(settings, keyring).returncode == 0
    publish_release(settings)



def test_ages_above_89_are_one_band(small_k):
    """HIPAA Safe Harbor: no published band reaches above 89 except 90+ itself."""
    bands = small_k["bands"] - {"*", "90+", "unknown", None}
    assert bands
    for band in bands:
        low, high = map(int, re.fullmatch(r"(\d+)-(\d+)", band).groups())
        assert high <= 89, band


def test_age_bands_are_one_width_when_k_allows_bands(small_k):
    assert _bands_are_one_width(small_k["bands"]), small_k["bands"]


def test_wards_show_when_k_allows(small_k):
    readings, with_ward, with_type = small_k["wards"]
    print(f"k=2: readings {readings}, with a ward {with_ward}, with a device type {with_type}")
    # alarms come from the few monitored patients, whose care context stays hidden even at k = 2 here
    assert with_ward > 0 and with_type > 0

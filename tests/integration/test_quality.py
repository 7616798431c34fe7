"""The quality suites on a real PostgreSQL: the clean synthetic hospital passes every expectation; a hospital
generated with every fault fails exactly the expectation meant for each fault (attributed by sender, the
monitor that carries it), no other, and no privacy check; results and Data Docs hold counts and hashes only;
`wardflow check` exits 1 when a blocking expectation fails and 0 otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.settings import load_settings
from expectations.quality import docs_dir, run_quality
from expectations.suites import all_checks
from orchestration.warehouse.database import connect

FAULTS = ("out_of_range", "unit_mixup", "silent_monitor", "injected_stream", "duplicate_stream")
# fault → the expectations it must fail (and nothing else may fail)
MEANT = {
    "out_of_range": {("physiology", "heart_rate in /min within 20 to 300")},
    "unit_mixup": {("physiology", "no unit mix-up")},
    "silent_monitor": {("time", "no silent device")},
    "injected_stream": {("injected", "no flat line"), ("injected", "sender volume near baseline")},
    "duplicate_stream": {("injected", "one device of a kind per patient")},
}


def _failed(outcomes) -> set[tuple[str, str]]:
    return {(o.suite, o.expectation) for o in outcomes if not o.success}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def clean(built, settings):
    """The quality results of the template's pipeline run, on the clean synthetic hospital alone."""
    _, outcome = built
    with connect(settings, "compliance") as conn:
        rows = conn.execute("select suite, expectation, success, sender, unexpected, total, row_key_hashes "
                            "from audit.quality_results where run_id = %s", (outcome.run_id,)).fetchall()
    return rows, outcome


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, server_admin_url, settings, master_key):
    """A database of its own with the faulty hospital landed and the whole pipeline run on it."""
    import uuid

    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from connectors.crypto import load_keyring
    from connectors.ingest import ingest_paths
    from connectors.synthetic import generate
    from connectors.synthetic.faults import apply_faults
    from orchestration.runner import run_everything
    from orchestration.warehouse.database import init_database

    work = tmp_path_factory.mktemp("faulty")
    name = f"wardflow_faulty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    home = work / "home"
    (home / "secrets").mkdir(parents=True)
    (home / "secrets" / "roles.json").write_bytes((settings.secrets_dir / "roles.json").read_bytes())
    env = {"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": make_conninfo(server_admin_url, dbname=name),
           "WARDFLOW_MASTER_KEY": master_key}
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)  # the Dagster resources read the environment when the run asks
    try:
        own = load_settings()
        init_database(own)
        summary = generate(work / "data", patients=30, days=1, devices=6, seed=7)
        touched = apply_faults(work / "data", list(FAULTS))
        with connect(own, "pipeline") as conn:
            ingest_paths([work / "data"], conn, load_keyring(own))
        outcome = run_everything(own)
        yield own, env, outcome, summary, touched
    finally:
        mp.undo()
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_clean_hospital_passes_every_expectation(clean):
    rows, run = clean
    checks = all_checks()
    assert {(r[0], r[1]) for r in rows} == {(c.suite, c.name) for c in checks}
    assert all(r[2] for r in rows), [r[:2] + r[3:6] for r in rows if not r[2]]
    quality = [c for c in run.checks if c["check"].startswith("quality_")]
    assert len(quality) >= 8 and all(c["passed"] for c in quality), quality
    heart = sum(r[5] for r in rows if r[1] == "heart_rate in /min within 20 to 300")
    assert heart > 100  # the suite saw the data, not an empty table


def test_each_fault_fails_exactly_its_expectation_and_no_privacy_check(faulty):
    own, _, run, _, touched = faulty
    assert all(touched[f] > 0 for f in FAULTS), touched
    outcomes = run_quality(own, all_checks(), "test-faulty", build_docs=False)
    assert _failed(outcomes) == set().union(*MEANT.values()), [o.as_dict() for o in outcomes if not o.success]
    # attribution: each sender-grouped failure is on one monitor, and each fault's monitor differs
    senders = {(o.suite, o.expectation): set(o.failing_groups) for o in outcomes if not o.success}
    per_monitor = [senders[e] for fault in ("out_of_range", "unit_mixup", "silent_monitor") for e in MEANT[fault]]
    assert all(len(s) == 1 for s in per_monitor) and len(set().union(*per_monitor)) == 3
    privacy = [c for c in run.checks if c["check"] in ("privacy_suite", "canaries")]
    assert privacy and all(c["passed"] for c in privacy), privacy
    failed_checks = {c["check"] for c in run.checks if not c["passed"]}
    assert failed_checks == {"quality_physiology", "quality_injected", "quality_time_warnings",
                             "quality_injected_warnings"}, run.checks
    assert not run.ok  # a blocking quality check failed: the release is not published


def test_results_hold_counts_and_hashes_only(clean, settings):
    rows, _ = clean
    assert all(len(h) == 32 and int(h, 16) >= 0 for r in rows for h in r[6])
    with connect(settings, "pipeline") as conn:
        keys = {r[0] for r in conn.execute("select observation_key from clinical.fct_vital_signs limit 50")}
    assert not keys & {h for r in rows for h in r[6]}


def test_results_and_data_docs_hold_no_planted_value(faulty):
    own, env, _, _, _ = faulty
    result = _cli(env, "check", "--json")
    assert result.returncode == 1, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["blocking_failed"] >= 3 and not report["ok"]
    planted = _planted_values(own)
    assert len(planted) > 20
    with connect(own, "pipeline") as conn:
        stored = json.dumps(conn.execute("select * from audit.quality_results").fetchall(), default=str)
    docs = "".join(p.read_text(errors="ignore") for p in docs_dir(own).rglob("*") if p.suffix in (".html", ".json"))
    assert "index.html" in {p.name for p in docs_dir(own).iterdir()}
    for text in (stored, docs, result.stdout, result.stderr):
        leaked = [v for v in planted if v in text]
        assert not leaked, f"{len(leaked)} planted values found"


def test_check_exits_zero_when_no_blocking_expectation_fails(faulty):
    """On the faulty feed, the integrity suite (no fault touches it) passes: exit 0; physiology fails: exit 1."""
    _, env, _, _, _ = faulty
    passing = _cli(env, "check", "--suite", "integrity", "--no-docs")
    assert passing.returncode == 0, passing.stderr[-2000:]
    assert "expectations, " in passing.stderr
    failing = _cli(env, "check", "--suite", "physiology", "--no-docs")
    assert failing.returncode == 1 and "failed" in failing.stderr


def _planted_values(settings) -> set[str]:
    """Names, identifiers, phones and dates of birth of the synthetic people, and the role passwords: what no
    result may hold. Read from the generated HL7 (PID-3, PID-5, PID-7, PID-13) and the secrets folder."""
    data = Path(settings.home).parent / "data" / "hl7"
    values: set[str] = set(json.loads((settings.secrets_dir / "roles.json").read_text()).values())
    for path in data.rglob("*.hl7"):
        for segment in path.read_bytes().decode("utf-8", "replace").replace("\n", "\r").split("\r"):
            if segment.startswith("PID|"):
                fields = segment.split("|")
                name = fields[5].split("^")
                values.update(v for v in (fields[3].split("^")[0], "".join(name[:2]), fields[7],
                                          fields[13].split("^")[-1] if len(fields) > 13 else "")
                              if len(v) >= 2 and (not v.isdigit() or len(v) >= 6))
    return values

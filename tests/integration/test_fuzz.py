"""Fuzz: a few hundred seeded mutants of real and generated HL7 v2 and FHIR (connectors/synthetic/mutants.py)
are ingested in one batch; each lands or is rejected with a rule and a reason naming no value, and one pipeline
run over all of them then succeeds. benchmarks/fuzz.py runs the same with ≥ 10,000 mutants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.ingest import ingest_paths
from connectors.synthetic.mutants import fhir_seeds, hl7_seeds, mutants
from orchestration.runner import run_everything
from orchestration.warehouse.database import connect

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
MUTANTS = 300
SEED = 20261202


def generated_seeds(folder: Path) -> tuple[list[bytes], list[dict]]:
    """The synthetic hospital's messages and FHIR resources, as seeds."""
    from connectors.hl7.split import split_messages

    hl7 = [p.data for f in sorted(folder.rglob("*.hl7")) for p in split_messages(f.read_bytes())
           if p.kind == "message"][:60]
    fhir = [e["resource"] for f in sorted(folder.rglob("*.json"))
            for e in json.loads(f.read_bytes()).get("entry", [])][:60]
    return hl7, fhir


@pytest.fixture(scope="module")
def fuzz_database(server_admin_url, settings, initialised, wardflow_env, tmp_path_factory):
    """A database of its own: mutants put hostile values into plaintext routing columns (MSH-3, MSH-10), which
    the personal-data scan of the shared session database would then report."""
    import shutil
    import uuid

    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from connectors.settings import load_settings
    from orchestration.warehouse.database import init_database

    name = f"wardflow_fuzz_{uuid.uuid4().hex[:10]}"
    home = tmp_path_factory.mktemp("fuzz-home")
    (home / "secrets").mkdir()
    shutil.copy(settings.secrets_dir / "roles.json", home / "secrets" / "roles.json")
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    env = {"WARDFLOW_DATABASE_URL": make_conninfo(server_admin_url, dbname=name), "WARDFLOW_HOME": str(home),
           "DAGSTER_HOME": str(home / "dagster")}
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    try:
        own = load_settings()
        init_database(own)
        yield own
    finally:
        patch.undo()
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def fuzzed(fuzz_database, synthetic, tmp_path_factory):
    from connectors.crypto import load_keyring

    settings = fuzz_database
    keyring = load_keyring(settings)
    hl7, fhir = generated_seeds(synthetic[0])
    folder = tmp_path_factory.mktemp("fuzz")
    made = list(mutants(hl7_seeds(CORPUS, hl7), fhir_seeds(CORPUS, fhir), MUTANTS, SEED))
    for mutant in made:
        (folder / mutant.name).write_bytes(mutant.data)
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([folder], conn, keyring)
        rejects = conn.execute("select rule, field_path, reason from landing.rejected").fetchall()
    outcome = run_everything(settings)
    return made, report, rejects, outcome


def test_every_mutant_is_landed_or_rejected_with_a_reason(fuzzed):
    made, report, rejects, _ = fuzzed
    assert report.files == len(made)
    for outcome in report.outcomes:  # a file that yields nothing is an empty one, counted but holding nothing
        assert outcome.items or outcome.rejected or outcome.format in ("empty", "fhir"), outcome
    assert report.counts.landed > MUTANTS // 3 and report.counts.rejected > 0
    assert all(rule and "(rule " in reason for rule, _, reason in rejects)


def test_no_reject_reason_quotes_a_hostile_value(fuzzed):
    _, _, rejects, _ = fuzzed
    for _, path, reason in rejects:
        assert "\x00" not in reason and "CCCCCCCCCC" not in reason and "xxxxxxxxxx" not in reason
        assert "9999999999" not in reason.replace(path, "") or "bytes" in reason


def test_one_pipeline_run_over_every_mutant_succeeds(fuzzed):
    """Every model builds over the mutants. Hostile values can fail the blocking quality checks (a heart rate of
    1e300 is a fault to flag, and the release waits): those are the only steps allowed to fail."""
    *_, outcome = fuzzed
    not_quality = [step for step in outcome.failed_steps if "_quality_" not in step]
    assert outcome.assets > 0 and not not_quality, outcome.as_dict()
    assert all(c["passed"] for c in outcome.checks if not c["check"].startswith("quality_")), outcome.as_dict()

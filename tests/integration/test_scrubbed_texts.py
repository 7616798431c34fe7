"""The scrubber asset's table (clinical.scrubbed_texts) against the real pipeline database: every vault text
scrubbed once, incremental re-runs do nothing, a version change re-scrubs everything, and a scrubber that
fails withholds the texts (analytics shows no text) and counts them."""

import pytest
from publishing import publish_release

import orchestration.warehouse.scrubbed_texts as scrubbed
from orchestration.warehouse.database import connect


@pytest.fixture
def pipeline(built, settings, keyring):
    with connect(settings, "pipeline", keyring=keyring) as conn:
        yield conn


def _status(conn):
    return conn.execute("select status, scrubber_version, count(*) from clinical.scrubbed_texts "
                        "group by 1, 2 order by 1, 2").fetchall()


def test_every_vault_text_has_one_scrubbed_row(pipeline):
    texts = pipeline.execute("select count(*) from vault.vault_texts").fetchone()[0]
    kinds = {k for (k,) in pipeline.execute("select distinct text_kind from vault.vault_texts")}
    assert texts > 0 and "note" in kinds and kinds <= {"note", "alarm"}
    assert _status(pipeline) == [("scrubbed", scrubbed.VERSION, texts)]


def test_a_second_run_scrubs_nothing(pipeline):
    report = scrubbed.scrub_pending(pipeline)
    assert (report.scrubbed, report.withheld) == (0, 0)


def test_a_version_change_rescrubs_everything(pipeline, monkeypatch):
    texts = pipeline.execute("select count(*) from vault.vault_texts").fetchone()[0]
    monkeypatch.setattr(scrubbed, "VERSION", "test-version")
    assert scrubbed.scrub_pending(pipeline).scrubbed == texts
    assert _status(pipeline) == [("scrubbed", "test-version", texts)]
    monkeypatch.undo()
    assert scrubbed.scrub_pending(pipeline).scrubbed == texts


def test_a_failing_scrubber_withholds_and_counts(pipeline, settings, monkeypatch):
    texts = pipeline.execute("select count(*) from vault.vault_texts").fetchone()[0]

    def broken(text, known, shift):
        raise RuntimeError("boom")

    monkeypatch.setattr(scrubbed, "VERSION", "broken-version")
    try:
        report = scrubbed.scrub_pending(pipeline, scrubber=broken)
        assert (report.withheld, report.withheld_error, report.scrubbed) == (texts, texts, 0)
        assert _status(pipeline) == [("withheld", "broken-version", texts)]
        _rebuild_text_tables(settings)  # analytics are tables: the next build publishes what was withheld
        with connect(settings, "analyst") as analyst:
            shown = analyst.execute("select count(note_text) from analytics.clinical_notes").fetchone()[0]
            alarms = analyst.execute("select count(event_text) from analytics.alarms").fetchone()[0]
        assert (shown, alarms) == (0, 0)  # fail closed: no text at all rather than an unscrubbed one
    finally:
        monkeypatch.undo()
        scrubbed.scrub_pending(pipeline)
        _rebuild_text_tables(settings)
    assert _status(pipeline) == [("scrubbed", scrubbed.VERSION, texts)]


def test_a_runaway_scrubber_is_interrupted_withheld_and_counted(pipeline, monkeypatch):
    """Catastrophic backtracking on every text: each is stopped at the budget, withheld, counted as timeout."""
    import re
    import time

    texts = pipeline.execute("select count(*) from vault.vault_texts").fetchone()[0]

    def runaway(text, known, shift):
        return re.sub(r"(a+)+$", "", "a" * 40 + "b")  # hours if not interrupted

    monkeypatch.setattr(scrubbed, "VERSION", "runaway-version")
    monkeypatch.setattr(scrubbed, "TIME_BUDGET_S", 0.05)
    started = time.perf_counter()
    try:
        report = scrubbed.scrub_pending(pipeline, scrubber=runaway)
        assert (report.withheld_timeout, report.scrubbed) == (texts, 0)
        assert time.perf_counter() - started < 60
        reasons = pipeline.execute("select withheld_reason, count(*) from clinical.scrubbed_texts group by 1").fetchall()
        assert reasons == [("timeout", texts)]
    finally:
        monkeypatch.undo()
        scrubbed.scrub_pending(pipeline)
    assert _status(pipeline) == [("scrubbed", scrubbed.VERSION, texts)]


def _rebuild_text_tables(settings) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from connectors.crypto import load_keyring
    from orchestration.project import DBT_PROJECT_DIR
    from orchestration.resources import dbt_environment

    dbt = str(Path(sys.executable).with_name("dbt"))
    done = subprocess.run([dbt, "run", "--select", "clinical_notes", "alarms", "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **dbt_environment(settings, load_keyring(settings))})
    assert done.returncode == 0, done.stdout[-3000:]
    publish_release(settings)  # as a passing run's publication step does


def test_the_table_is_not_readable_by_analyst_or_compliance(settings):
    import psycopg

    for role in ("analyst", "compliance"):
        with connect(settings, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from clinical.scrubbed_texts")

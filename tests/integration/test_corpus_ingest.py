"""Every file of the public corpus is landed or rejected with a reason; none crashes or is skipped."""

from pathlib import Path

import pytest

from connectors.ingest import ingest_paths
from orchestration.warehouse.database import connect

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


@pytest.mark.corpus("hl7v2")
@pytest.mark.parametrize("folder", ["hl7v2", "fhir"])
def test_every_corpus_file_is_landed_or_rejected(folder, settings, keyring, initialised):
    with connect(settings, "pipeline") as conn:
        before = conn.execute("select count(*) from landing.rejected").fetchone()[0]
        report = ingest_paths([CORPUS / folder], conn, keyring)
        rejected = conn.execute("select rule, field_path, reason from landing.rejected order by rejected_id offset %s",
                                (before,)).fetchall()
    assert report.files == sum(1 for p in (CORPUS / folder).rglob("*") if p.is_file())
    for outcome in report.outcomes:
        assert outcome.items > 0 or outcome.rejected > 0, f"{outcome.path.name} produced nothing"
    assert report.counts.landed > 0
    for rule, _path, reason in rejected:
        assert rule and f"rule {rule}" in reason


@pytest.mark.corpus("hl7v2")
def test_intentionally_invalid_hl7_files_are_rejected(settings, keyring, initialised):
    invalid = ["rethink_invalid-missing-msh.hl7", "rethink_invalid-segment-header-length.hl7",
               "rethink_invalid-wrong-version.hl7"]
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([CORPUS / "hl7v2" / name for name in invalid], conn, keyring)
    assert all(o.rejected > 0 for o in report.outcomes), [(o.path.name, o.rejected) for o in report.outcomes]

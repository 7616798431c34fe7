"""Replay of rejected input takes ingest's own path: a payload rejected at ingest is rejected again by replay with
the same field, rule and reason (junk between messages included, strict validation when asked), nothing still
broken counts as fixed, and a corrected payload lands."""

from __future__ import annotations

import uuid

import pytest

from connectors.ingest import ingest_paths
from connectors.rejected import replay
from orchestration.warehouse.database import connect


def message(sender: str, control_id: str) -> bytes:
    return "\r".join([
        f"MSH|^~\\&|{sender}|ICU1|WARDFLOW|HOSP|20260101120000||ORU^R01^ORU_R01|{control_id}|P|2.6",
        "PID|1||MRN000001^^^HOSP^MR||Zhang^Wei||19800101|M",
        "OBX|1|NM|8867-4^Heart rate^LN||72|/min^^UCUM|||||F",
        "",
    ]).encode()


@pytest.fixture
def sender() -> str:
    return f"R{uuid.uuid4().hex[:10].upper()}"


def rejects(conn, batch_id: str) -> list[tuple]:
    return conn.execute("select rejected_id, rule, field_path, error_code, reason, status from landing.rejected "
                        "where batch_id = %s order by rejected_id", (batch_id,)).fetchall()


def test_replay_rejects_again_exactly_as_ingest_did(settings, keyring, sender, tmp_path):
    broken = message(sender, "")  # no control id: MSH-10 is required
    junk = b"\x1c\rnot hl7 at all\r"  # after an MLLP end-of-block: bytes between messages
    (tmp_path / "in.hl7").write_bytes(message(sender, "OK1") + junk + broken)
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([tmp_path], conn, keyring)
        before = rejects(conn, report.batch_id)
        conn.commit()
        assert report.counts.landed == 1 and len(before) == 2, before
        result = replay(conn, keyring, ids=[r[0] for r in before])
        assert (result.replayed, result.still_rejected, result.landed) == (0, 2, 0)
        after = conn.execute("select rule, field_path, error_code, reason, status from landing.rejected "
                             "where rejected_id = any(%s) order by rejected_id", ([r[0] for r in before],)).fetchall()
        # same content and rule: the reject row is the one ingest wrote (rejected_dedup), still open, same text
        assert after == [r[1:] for r in before]
        assert all(status == "open" for *_, status in after)


def test_replay_applies_strict_validation_when_asked(settings, keyring, sender, tmp_path):
    odd = message(sender, "S1")  # an ORU^R01 without OBR: leniently fine, not to hl7apy's strict structure
    (tmp_path / "odd.hl7").write_bytes(odd)
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([tmp_path], conn, keyring, validate="strict")
        (rejected_id, rule, *_), = rejects(conn, report.batch_id)
        conn.commit()
        assert rule == "strict.structure"
        assert replay(conn, keyring, ids=[rejected_id], validate="strict").still_rejected == 1
        assert replay(conn, keyring, ids=[rejected_id]).replayed == 1  # lenient, as a file ingested leniently


def test_a_corrected_payload_lands_and_closes_the_reject(settings, keyring, sender, tmp_path):
    (tmp_path / "bad.hl7").write_bytes(message(sender, ""))
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([tmp_path], conn, keyring)
        (rejected_id, *_), = rejects(conn, report.batch_id)
        conn.commit()
        result = replay(conn, keyring, ids=[rejected_id], fixed=message(sender, "FIXED1"))
        assert (result.replayed, result.landed) == (1, 1)
        status = conn.execute("select status from landing.rejected where rejected_id = %s", (rejected_id,)).fetchone()
        assert status == ("replayed",)

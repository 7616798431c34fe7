"""Lander against a real PostgreSQL: one outcome per item in order, duplicates never landed twice, whichever
way a batch goes in (direct COPY, one-round-trip INSERT, streamed COPY, or the checked path after a duplicate),
and nothing committed before `flush()`."""

from __future__ import annotations

import uuid
from contextlib import nullcontext

import pytest

from connectors.crypto import Sealer
from connectors.fhir.records import FhirResource
from connectors.hl7.parse import parse_message
from connectors.landing import Lander
from orchestration.warehouse.database import connect

# a connection used while its COPY is open would hang, not fail; the session database is shared
pytestmark = pytest.mark.timeout(60)


def oru(sender: str, control_id: str, value: int) -> bytes:
    return "\r".join([
        f"MSH|^~\\&|{sender}|ICU1|WARDFLOW|HOSP|20260101120000||ORU^R01^ORU_R01|{control_id}|P|2.6",
        "PID|1||MRN000001^^^HOSP^MR||Zhang^Wei||19800101|M",
        f"OBX|1|NM|8867-4^Heart rate^LN||{value}|/min^^UCUM|||||F",
        "",
    ]).encode()


@pytest.fixture
def sender() -> str:
    """A sender of this test only (the session database is shared)."""
    return f"T{uuid.uuid4().hex[:10].upper()}"


@pytest.fixture
def conn(settings, initialised):
    with connect(settings, "pipeline") as conn:
        yield conn


def landed_rows(conn, sender: str) -> list[tuple]:
    rows = conn.execute("select control_id, control_id_reused, payload, key_version from landing.hl7_messages "
                        "where sender = %s order by message_id", (sender + "|ICU1",)).fetchall()
    conn.commit()
    return rows


@pytest.mark.parametrize("streaming", [False, True])
def test_outcomes_in_order_and_duplicates_in_and_across_batches(conn, keyring, sender, streaming):
    a, b, c, d = (oru(sender, f"C{n}", 60 + n) for n in range(4))
    lander = Lander(conn, keyring, source_kind="file")
    with lander.streaming() if streaming else nullcontext():
        lander.hl7(parse_message(a))
        lander.hl7(parse_message(b))
        lander.hl7(parse_message(a))  # same batch
        lander.reject(format="hl7v2", rule="msh.missing", reason="segment 1: no MSH (rule msh.missing)",
                      data=b"junk " + sender.encode())
        counts, outcomes = lander.flush()
        assert outcomes == ["landed", "landed", "duplicate", "rejected"]
        assert (counts.landed, counts.duplicates, counts.rejected) == (2, 1, 1)

        lander.hl7(parse_message(c))
        lander.hl7(parse_message(b))  # landed by the batch before: the direct COPY fails, the batch is redone
        lander.hl7(parse_message(c))
        lander.hl7(parse_message(d))
        _, outcomes = lander.flush()
        assert outcomes == ["landed", "duplicate", "duplicate", "landed"]

        lander.hl7(parse_message(d))  # after a batch with duplicates: the checked path straight away
        assert lander.flush()[1] == ["duplicate"]
        e = oru(sender, "C9", 99)
        lander.hl7(parse_message(e))
        assert lander.flush()[1] == ["landed"]
    rows = landed_rows(conn, sender)
    assert [r[0] for r in rows] == ["C0", "C1", "C2", "C3", "C9"]
    sealer = Sealer(keyring)
    assert [sealer.open(r[2]) for r in rows] == [a, b, c, d, e]
    assert lander.totals.landed == 5 and lander.totals.duplicates == 4 and lander.totals.rejected == 1


@pytest.mark.parametrize("streaming", [False, True])
def test_reused_control_id_is_landed_and_flagged(conn, keyring, sender, streaming):
    lander = Lander(conn, keyring, source_kind="mllp")
    with lander.streaming() if streaming else nullcontext():
        lander.hl7(parse_message(oru(sender, "SAME", 70)))
        assert lander.flush()[0].control_ids_reused == 0
        lander.hl7(parse_message(oru(sender, "SAME", 71)))  # same sender and id, other content
        counts, outcomes = lander.flush()
    assert outcomes == ["landed"] and counts.control_ids_reused == 2
    assert [(r[0], r[1]) for r in landed_rows(conn, sender)] == [("SAME", True), ("SAME", True)]


def test_reused_control_id_within_one_batch_is_flagged(conn, keyring, sender):
    lander = Lander(conn, keyring, source_kind="mllp")
    lander.hl7(parse_message(oru(sender, "TWICE", 70)))
    lander.hl7(parse_message(oru(sender, "TWICE", 71)))  # same sender and id, other content, same batch
    counts, outcomes = lander.flush()
    assert outcomes == ["landed", "landed"] and counts.control_ids_reused == 2
    assert [(r[0], r[1]) for r in landed_rows(conn, sender)] == [("TWICE", True), ("TWICE", True)]


def test_batch_counts_match_the_outcomes_on_the_direct_and_the_checked_path(conn, keyring, sender):
    batch = uuid.uuid4()
    lander = Lander(conn, keyring, source_kind="mllp", batch_id=batch)
    a, b = oru(sender, "K1", 60), oru(sender, "K2", 61)
    lander.hl7(parse_message(a))
    lander.hl7(parse_message(a))
    assert lander.flush()[1] == ["landed", "duplicate"]  # HL7 only: the one-round-trip path
    lander.hl7(parse_message(a))
    lander.hl7(parse_message(b))
    assert lander.flush()[1] == ["duplicate", "landed"]  # a resend: skipped in the same round trip
    row = conn.execute("select landed, duplicates, rejected from landing.ingest_batches where batch_id = %s",
                       (batch,)).fetchone()
    conn.commit()
    assert row == (2, 2, 0)


def test_nothing_is_committed_before_flush_and_the_buffer_survives_the_stream(conn, settings, keyring, sender):
    lander = Lander(conn, keyring, source_kind="file")
    with lander.streaming():
        lander.hl7(parse_message(oru(sender, "P1", 60)))
        lander.hl7(parse_message(oru(sender, "P2", 61)))
    assert len(lander) == 2
    with connect(settings, "pipeline") as other:
        assert landed_rows(other, sender) == []
    with lander.streaming():  # starts mid-batch: this batch lands from the buffer
        lander.hl7(parse_message(oru(sender, "P3", 62)))
        counts, outcomes = lander.flush()
    assert outcomes == ["landed"] * 3 and counts.landed == 3
    assert [r[0] for r in landed_rows(conn, sender)] == ["P1", "P2", "P3"]


def test_fhir_and_hl7_outcomes_interleave_in_order(conn, keyring, sender):
    resource = FhirResource("Observation", None, f"urn:uuid:{uuid.uuid4()}", None, None,
                            b'{"resourceType":"Observation","status":"final","id":"' + sender.encode() + b'"}',
                            None, None, 0)
    lander = Lander(conn, keyring, source_kind="file")
    with lander.streaming():
        lander.hl7(parse_message(oru(sender, "F1", 60)))
        lander.fhir(resource)
        lander.hl7(parse_message(oru(sender, "F1", 60)))
        lander.fhir(resource)
        counts, outcomes = lander.flush()
    assert outcomes == ["landed", "landed", "duplicate", "duplicate"]
    assert (counts.landed, counts.duplicates) == (2, 2)


def test_every_landing_transaction_holds_the_shared_landing_lock(conn, settings, keyring, sender):
    """dbt watermarks take `wardflow.landing` exclusively; a streamed batch must hold it shared from its
    first row (before any id is assigned) to its commit, and flushing it must not wait on itself."""
    held = ("select count(*) from pg_locks where locktype = 'advisory' and mode = 'ShareLock' and granted "
            "and pid = %s")
    lander = Lander(conn, keyring, source_kind="file")
    with connect(settings, "admin", autocommit=True) as other, lander.streaming():
        lander.hl7(parse_message(oru(sender, "L1", 60)))
        assert other.execute(held, (conn.info.backend_pid,)).fetchone() == (1,)
        counts, _ = lander.flush()
        assert counts.landed == 1
        assert other.execute(held, (conn.info.backend_pid,)).fetchone() == (0,)


def test_one_round_trip_and_copy_batches_land_alike(conn, keyring, sender):
    """A small HL7-only batch goes in one libpq pipeline (connectors/pipelined.py), a large one by COPY: the same
    outcomes, rows, reused-id flags and batch counts either way; the session's prepared statements outlive the
    Lander (the listener replaces its Lander after a failed batch)."""
    from connectors.pipelined import MAX_ROWS

    def land(tag: str, n: int, batch: uuid.UUID) -> tuple:
        lander = Lander(conn, keyring, source_kind="mllp", batch_id=batch)
        msgs = [oru(sender, f"{tag}{i}", 60) for i in range(n)]
        for raw in msgs + [msgs[0], oru(sender, f"{tag}0", 61)]:  # a duplicate, then a reused control id
            lander.hl7(parse_message(raw))
        counts, outcomes = lander.flush()
        rows = conn.execute("select control_id, control_id_reused, payload from landing.hl7_messages "
                            "where sender = %s and control_id like %s order by message_id",
                            (sender + "|ICU1", tag + "%")).fetchall()
        totals = conn.execute("select landed, duplicates, bytes from landing.ingest_batches where batch_id = %s",
                              (batch,)).fetchone()
        conn.commit()
        return counts, outcomes, rows, totals, msgs

    sealer = Sealer(keyring)
    for tag, n in (("P", 3), ("Q", 2), ("C", MAX_ROWS + 1)):
        counts, outcomes, rows, totals, msgs = land(tag, n, batch := uuid.uuid4())
        assert outcomes == ["landed"] * n + ["duplicate", "landed"]
        assert (counts.landed, counts.duplicates, counts.control_ids_reused) == (n + 1, 1, 2)
        assert [r[0] for r in rows] == [f"{tag}{i}" for i in range(n)] + [f"{tag}0"]
        assert [r[1] for r in rows] == [True] + [False] * (n - 1) + [True]
        assert [sealer.open(r[2]) for r in rows] == msgs + [oru(sender, f"{tag}0", 61)]
        assert totals == (n + 1, 1, sum(map(len, msgs + [msgs[0], oru(sender, f"{tag}0", 61)])))
        assert conn.info.transaction_status.name == "IDLE"
    prepared = {r[0] for r in conn.execute("select name from pg_prepared_statements where name like 'wardflow%'")}
    conn.commit()
    assert {"wardflow_land_0_4", "wardflow_land_0_3"} <= prepared  # the two small batches went in one round trip
    assert f"wardflow_land_0_{MAX_ROWS + 2}" not in prepared   # the large one by COPY


def test_a_refused_value_in_a_one_round_trip_batch_leaves_the_session_usable(conn, keyring, sender):
    import psycopg

    lander = Lander(conn, keyring, source_kind="mllp")
    poisoned = parse_message(oru(sender, "NULX", 60))
    poisoned.control_id = "NUL\x00"  # the parser refuses NUL (hl7.nul_character); landing must survive one anyway
    lander.hl7(poisoned)  # NUL cannot go into a text column
    with pytest.raises(psycopg.DataError) as refused:
        lander.flush()
    assert "SQLSTATE 22021" in str(refused.value) and "0x00" not in str(refused.value)  # no server text
    lander = Lander(conn, keyring, source_kind="mllp")
    lander.hl7(parse_message(oru(sender, "AFTER", 60)))
    assert lander.flush()[1] == ["landed"]
    assert [r[0] for r in landed_rows(conn, sender)] == ["AFTER"]


def test_a_batch_of_large_messages_goes_by_copy(conn, keyring, sender):
    """libpq keeps a copy of every pipeline parameter until it is sent: past MAX_BYTES a batch takes the COPY."""
    from connectors.pipelined import MAX_BYTES

    text = "x" * (MAX_BYTES // 2)
    msgs = [oru(sender, f"BIG{i}", 60).replace(b"||||F", f"|||{text}|F".encode()) for i in range(2)]
    assert all(len(m) > MAX_BYTES // 2 for m in msgs)
    lander = Lander(conn, keyring, source_kind="mllp")
    for raw in msgs:
        lander.hl7(parse_message(raw))
    assert lander.flush()[1] == ["landed", "landed"]
    prepared = conn.execute("select count(*) from pg_prepared_statements where name = 'wardflow_land_0_2'").fetchone()
    conn.commit()
    assert prepared == (0,)
    sealer = Sealer(keyring)
    assert [sealer.open(r[2]) for r in landed_rows(conn, sender)] == msgs


def test_a_failure_inside_the_round_trip_closes_the_session_and_loses_nothing(settings, keyring, sender,
                                                                              monkeypatch):
    """If the pipeline breaks before its results are read (a lost network, an interrupt), the session cannot be
    used again (it may hold unread results): it is closed, the error reaches the caller, and a retry on a new
    session lands each message exactly once, whether or not the server had committed the first attempt."""
    import connectors.pipelined as pipelined

    raw = oru(sender, "RT1", 60)

    def broken(pgconn):
        pgconn.flush()
        raise OSError("network gone")

    with connect(settings, "pipeline") as first:
        lander = Lander(first, keyring, source_kind="mllp")
        lander.hl7(parse_message(raw))
        with monkeypatch.context() as patch:
            patch.setattr(pipelined, "_exchange", broken)
            with pytest.raises(OSError):
                lander.flush()
        assert first.closed
    with connect(settings, "pipeline") as second:
        retry = Lander(second, keyring, source_kind="mllp")
        retry.hl7(parse_message(raw))
        assert retry.flush()[1][0] in ("landed", "duplicate")
        assert [r[0] for r in landed_rows(second, sender)] == ["RT1"]

"""The audit log cannot be forged, blinded or trimmed (issue 11), against a real PostgreSQL.

Each tampering test gets a database of its own; the tampering is done the way the issue found it: directly as
the pipeline login, and as the database owner (who can disable the append-only trigger). `verify_chain` must
name every damaged range, and the checks here compute nothing with the code under test: they tamper and read
the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from connectors import auditlog
from connectors.settings import ROLE_NAMES, Settings, load_settings
from orchestration.audit import verify_chain
from orchestration.warehouse.database import connect, init_database, role_params

LEGACY_AUDIT = Path(__file__).parent / "data" / "legacy_03_audit.sql"


@pytest.fixture
def audit_db(own_database, master_key: str) -> Settings:
    """A fresh database of its own, initialised, with its own WARDFLOW_HOME (and so its own anchor file)."""
    _, url, home = own_database("wardflow_audit")
    own = load_settings({"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": url, "WARDFLOW_MASTER_KEY": master_key})
    init_database(own)
    return own


def append(settings: Settings, n: int, *, anchor: bool = True) -> list[int]:
    with connect(settings, "pipeline", autocommit=True) as conn:
        ids = [auditlog.record(conn, "test.event", f"n{i}", {"i": i}) for i in range(n)]
        if anchor:
            auditlog.anchor(settings, conn)
    return ids


def as_owner(settings: Settings, statements: list[str], params: list[tuple] | None = None) -> None:
    """The owner bypasses the append-only trigger the only way it can: by disabling it."""
    with connect(settings, "admin") as conn:
        conn.execute("alter table audit.events disable trigger append_only")
        for sql, args in zip(statements, params or [()] * len(statements), strict=True):
            conn.execute(sql, args)
        conn.execute("alter table audit.events enable trigger append_only")
        conn.commit()


def problems(result: dict) -> set[tuple[int, int, str]]:
    return {(r["first"], r["last"], r["problem"]) for r in result["broken"]}


@pytest.mark.parametrize("role", ["pipeline", "analyst", "compliance"])
def test_no_login_role_writes_audit_events_directly(settings, initialised, role: str) -> None:
    attempts = ["insert into audit.events (event_id, occurred_at, actor, action, prev_hash, hash) overriding system "
                "value values (999999999, now(), 'someone else', 'forged', '\\x00', '\\x00')",
                "update audit.events set action = 'x'", "delete from audit.events", "truncate audit.events"]
    if role != "pipeline":  # and only the pipeline may call the one way in
        attempts.append("select audit.record('forged', '', '{}')")
    with connect(settings, role, autocommit=True) as conn:
        for sql in attempts:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)


def test_record_sets_id_time_and_actor_itself(settings, initialised) -> None:
    with connect(settings, "pipeline", autocommit=True) as conn:
        first = auditlog.record(conn, "test.actor", "s", {"n": 1})
        second = auditlog.record(conn, "test.actor", "s", {"n": 2})
    with connect(settings, "compliance") as conn:
        rows = conn.execute("select event_id, actor, now() - occurred_at < interval '1 minute' from audit.events "
                            "where event_id in (%s, %s) order by event_id", (first, second)).fetchall()
    assert [r[0] for r in rows] == [first, first + 1] and second == first + 1
    assert {r[1] for r in rows} == {ROLE_NAMES["pipeline"]} and all(r[2] for r in rows)


def test_a_password_alone_cannot_append_and_a_guessed_key_is_caught(audit_db: Settings) -> None:
    params = role_params(audit_db, "pipeline")
    with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:  # the password, no audit key
        with pytest.raises(psycopg.errors.RaiseException, match="audit key is not set"):
            conn.execute("select audit.record('forged', '', '{}')")
    append(audit_db, 2)
    params["options"] = "-c wardflow.audit_key=" + "ab" * 32  # any key the attacker likes
    with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
        forged = conn.execute("select audit.record('forged', '', '{}')").fetchone()[0]
    append(audit_db, 2)
    result = verify_chain(audit_db)
    assert not result["ok"] and problems(result) == {(forged, forged, "altered")}


def test_verify_reports_every_broken_range_and_a_forged_high_id_blinds_nothing(audit_db: Settings) -> None:
    ids = append(audit_db, 10)
    assert verify_chain(audit_db)["ok"]
    high = 10_000_000
    as_owner(audit_db, [
        "insert into audit.events values (%s, now(), 'wardflow_admin', 'forged', '', '{}', %s, %s)",
        "update audit.events set details = '{\"i\": 99}' where event_id = %s",
        "update audit.events set subject = 'changed' where event_id = %s",
    ], [(high, b"\x00", b"\x01" * 32), (ids[2],), (ids[6],)])
    after = append(audit_db, 5)
    assert after[0] == high + 1  # the function numbers on from the forged row …
    as_owner(audit_db, ["update audit.events set action = 'changed' where event_id = %s"], [(after[3],)])
    result = verify_chain(audit_db)
    # … and every damaged event is reported, before and after the forged one
    assert problems(result) == {(ids[2], ids[2], "altered"), (ids[6], ids[6], "altered"), (high, high, "altered"),
                                (after[3], after[3], "altered")}
    assert result["first_broken"] == ids[2]


def test_deleting_events_is_reported_as_a_removed_range(audit_db: Settings) -> None:
    ids = append(audit_db, 10)
    as_owner(audit_db, ["delete from audit.events where event_id between %s and %s",
                        "delete from audit.events where event_id = %s"], [(ids[3], ids[5]), (ids[8],)])
    assert problems(verify_chain(audit_db)) == {(ids[3], ids[5], "removed"), (ids[8], ids[8], "removed")}


def test_recomputing_the_chain_without_the_key_is_detected(audit_db: Settings) -> None:
    """The owner deletes an event and relinks the rest with the old unkeyed SHA-256 scheme."""
    ids = append(audit_db, 6)
    with connect(audit_db, "admin") as conn:
        conn.execute("alter table audit.events disable trigger append_only")
        conn.execute("delete from audit.events where event_id = %s", (ids[2],))
        rows = conn.execute("select event_id, occurred_at, actor, action, subject, details::text from audit.events "
                            "where event_id > %s order by event_id", (ids[1],)).fetchall()
        prev = conn.execute("select hash from audit.events where event_id = %s", (ids[1],)).fetchone()[0]
        for event_id, *fields in rows:
            new = conn.execute("select public.digest(%s::bytea || convert_to(concat_ws(E'\\x1f', %s::timestamptz::text, "
                               "%s::text, %s::text, %s::text, %s::text), 'UTF8'), 'sha256')", (prev, *fields)).fetchone()[0]
            conn.execute("update audit.events set prev_hash = %s, hash = %s where event_id = %s", (prev, new, event_id))
            prev = new
        conn.execute("alter table audit.events enable trigger append_only")
        conn.commit()
    result = verify_chain(audit_db)
    assert not result["ok"] and (ids[3], ids[-1], "altered") in problems(result)


def test_deleting_the_tail_is_caught_by_the_anchor(audit_db: Settings) -> None:
    ids = append(audit_db, 8)
    anchored = [json.loads(line)["event_id"] for line in auditlog.anchor_path(audit_db).read_text().splitlines()]
    assert anchored[-1] == ids[-1]
    as_owner(audit_db, ["delete from audit.events where event_id >= %s"], [(ids[5],)])
    result = verify_chain(audit_db)
    assert problems(result) == {(ids[5], ids[-1], "tail_removed")}


def test_a_rewritten_anchored_head_is_caught(audit_db: Settings) -> None:
    ids = append(audit_db, 3)
    as_owner(audit_db, ["update audit.events set hash = %s where event_id = %s"], [(b"\x02" * 32, ids[-1])])
    assert problems(verify_chain(audit_db)) == {(ids[-1], ids[-1], "altered"), (ids[-1], ids[-1], "anchor_mismatch")}


def test_an_unanchored_tail_is_the_documented_limit(audit_db: Settings) -> None:
    """Events appended after the last anchor and then deleted leave no trace: docs/compliance.md says so."""
    append(audit_db, 3)
    late = append(audit_db, 2, anchor=False)
    as_owner(audit_db, ["delete from audit.events where event_id >= %s"], [(late[0],)])
    assert verify_chain(audit_db)["ok"]


def test_init_upgrades_a_legacy_unkeyed_chain(own_database, master_key: str) -> None:
    name, url, home = own_database("wardflow_legacy")
    own = load_settings({"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": url, "WARDFLOW_MASTER_KEY": master_key})
    sql_dir = Path(__file__).resolve().parents[2] / "orchestration" / "warehouse" / "sql"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((sql_dir / "01_roles_schemas.sql").read_text())
        conn.execute(LEGACY_AUDIT.read_text())
        for i in range(3):
            conn.execute("select audit.record('legacy.event', %s, '{}')", (f"n{i}",))
    init_database(own)
    init_database(own)  # idempotent: the second run finds nothing to upgrade
    result = verify_chain(own)
    assert result["ok"], result
    with connect(own, "compliance") as conn:
        upgrade = conn.execute("select details from audit.events where action = 'audit.chain_keyed'").fetchall()
    # the operator (connectors/auditlog.operator_name) is added to every event's details
    assert [{k: v for k, v in u[0].items() if k != "operator"} for u in upgrade] == [
        {"legacy_events": 3, "legacy_unverified": 0}]
    assert all(u[0]["operator"] for u in upgrade)
    append(own, 2)
    assert verify_chain(own)["ok"]


def test_every_run_is_audited_failed_ones_included(settings, built) -> None:
    from orchestration.runner import run_everything

    _, outcome = built
    with connect(settings, "admin", autocommit=True) as admin:  # the inbox logs in as wardflow_ingest: keep it out
        database = admin.info.dbname
        admin.execute(f'revoke connect on database "{database}" from wardflow_ingest')
        try:
            failed = run_everything(settings, job_name="ingest_inbox")
        finally:
            admin.execute(f'grant connect on database "{database}" to wardflow_ingest')
    with pytest.raises(Exception):  # noqa: B017 - any error: the point is that it is audited
        run_everything(settings, job_name="no_such_job")
    with connect(settings, "compliance") as conn:
        runs = {r[0]: r[1] for r in conn.execute(
            "select subject, details from audit.events where action = 'pipeline.run' order by event_id")}
    passed = runs[outcome.run_id]
    assert passed["success"] and passed["steps_succeeded"] > 0
    assert passed["checks_passed"] == sum(c["passed"] for c in outcome.checks) > 0  # warnings may fail: counted
    assert not failed.success and runs[failed.run_id]["success"] is False
    assert runs[failed.run_id]["failed_steps"] == failed.failed_steps and "landing_inbox" in failed.failed_steps
    assert runs[""]["error"] and runs[""]["job"] == "no_such_job"
    assert verify_chain(settings)["ok"]


def test_each_anchor_also_goes_to_syslog_when_asked(audit_db: Settings) -> None:
    import dataclasses
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        own = dataclasses.replace(audit_db, audit_syslog=f"127.0.0.1:{server.getsockname()[1]}")
        ids = append(own, 2)
        line = server.recv(4096).decode()
    with connect(audit_db, "compliance") as conn:
        head = bytes(conn.execute("select hash from audit.events where event_id = %s", (ids[-1],)).fetchone()[0])
    assert f"wardflow audit head event_id={ids[-1]} hash={head.hex()}" in line

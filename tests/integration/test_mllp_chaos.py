"""The MLLP listener under the faults a hospital network produces, over real sockets against a real PostgreSQL.

Each test sends thousands of PCD-01 messages from several stop-and-wait connections that resend on a negative
ACK (connectors/hl7/sender.py behaves like an interface engine), part of them already landed, and injects one
fault mid-stream: a rollback after psycopg has prepared statements of its own on the landing session (which
sends DEALLOCATE ALL: the wedge of the first release), DEALLOCATE ALL, pg_terminate_backend, a statement
timeout, a PostgreSQL restart, the default per-client limits, hostile clients on other connections. Every
message must end AA, be landed exactly once, and — while the database is up — no commit may fail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from mllp_harness import LiveListener, assert_every_message_landed_once, listener_database, send, stream

from connectors.settings import Settings


class FaultAt:
    """Calls ``inject`` once (on a thread of its own) when ``after`` messages have been acknowledged."""

    def __init__(self, after: int, inject: Callable[[], None]) -> None:
        self.after, self.inject = after, inject
        self.acks = 0
        self.fired = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def on_ack(self, _cid: str, code: str) -> None:
        if code in ("AA", "CA"):
            self.acks += 1
            if self.acks >= self.after and not self.fired.is_set():
                self.fired.set()
                threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            self.inject()
        except BaseException as exc:  # handed to the test
            self.error = exc
        finally:
            self.done.set()


def run_with_fault(settings: Settings, keyring, url: str, inject: Callable[[LiveListener], None], *,
                   n: int = 3000, **config):
    """Pre-land every third run of 40 messages, then send the whole stream over 8 connections with a fault
    injected after a third of it was acknowledged; returns (report, stats, messages)."""
    messages = stream(n)
    with LiveListener(settings, keyring, **config) as live:
        first = send(live.port, [m for i, m in enumerate(messages) if (i // 40) % 3 == 0])
        assert first.acked == len(first.final)
        fault = FaultAt(n // 3, lambda: inject(live))
        report = send(live.port, messages, on_ack=fault.on_ack)
        assert fault.done.wait(30), "the fault was never injected"
        if fault.error:
            raise fault.error
        stats = live.stop()
    return report, stats, messages


@pytest.fixture(scope="module")
def listener_setup(server_admin_url, settings, keyring, initialised, tmp_path_factory):
    with listener_database(server_admin_url, settings, tmp_path_factory.mktemp("chaos-home")) as (own, url):
        yield own, keyring, url


def _admin(url: str, statement: str, params: tuple = ()) -> list:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def _rollback_after_psycopg_prepared(live: LiveListener) -> None:
    def fault(conn: psycopg.Connection) -> None:
        conn.prepare_threshold = 0            # as if something on the session let psycopg prepare
        conn.execute("select 1")
        conn.execute("select 1")
        conn.rollback()                       # psycopg then sends DEALLOCATE ALL

    live.call(fault)


def _deallocate_all(live: LiveListener) -> None:
    def fault(conn: psycopg.Connection) -> None:
        conn.execute("deallocate all")
        conn.commit()

    live.call(fault)


@pytest.mark.parametrize("inject", [_rollback_after_psycopg_prepared, _deallocate_all],
                         ids=["rollback-after-auto-prepare", "deallocate-all"])
def test_lost_prepared_statements_heal_without_a_single_nak(listener_setup, inject) -> None:
    settings, keyring, url = listener_setup
    report, stats, messages = run_with_fault(settings, keyring, url, inject, max_connections_per_client=0)
    assert_every_message_landed_once(report, url, messages)
    assert not report.naks and stats.commit_failures == 0


def test_the_resend_traffic_of_the_first_release_wedge_lands_with_auto_prepare_on(listener_setup) -> None:
    """The reported wedge: batches mixing landed and new messages after psycopg prepared on the session."""
    settings, keyring, url = listener_setup

    def inject(live: LiveListener) -> None:
        live.call(lambda conn: setattr(conn, "prepare_threshold", 0))  # psycopg prepares everything from now on

    report, stats, messages = run_with_fault(settings, keyring, url, inject, max_connections_per_client=0)
    assert_every_message_landed_once(report, url, messages)
    assert not report.naks and stats.commit_failures == 0


def test_terminated_landing_session_is_replaced_and_the_batch_retried(listener_setup) -> None:
    settings, keyring, url = listener_setup
    killed: list[int] = []

    def inject(live: LiveListener) -> None:
        for _ in range(3):
            killed.extend(r[0] for r in _admin(
                url, "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() "
                     "and application_name = 'wardflow-listener'"))
            time.sleep(0.1)

    report, stats, messages = run_with_fault(settings, keyring, url, inject, max_connections_per_client=0)
    assert killed and any(killed)
    assert_every_message_landed_once(report, url, messages)
    assert not report.naks and stats.commit_failures == 0 and stats.session_resets >= 1


def test_statement_timeout_on_the_landing_session(listener_setup) -> None:
    """The session is set to a 50 ms statement timeout and a lock makes its statements wait: the flush fails
    with 57014, the session is replaced (back to the listener's own timeout) and the batch lands."""
    settings, keyring, url = listener_setup

    def inject(live: LiveListener) -> None:
        def short(conn: psycopg.Connection) -> None:
            conn.execute("set statement_timeout = 50")
            conn.commit()

        live.call(short)
        with psycopg.connect(url) as conn:
            conn.execute("lock table landing.ingest_batches in exclusive mode")
            time.sleep(0.5)
            conn.rollback()

    report, stats, messages = run_with_fault(settings, keyring, url, inject, max_connections_per_client=0)
    assert_every_message_landed_once(report, url, messages)
    assert not report.naks and stats.commit_failures == 0 and stats.session_resets >= 1


def test_default_limits_do_not_throttle_one_busy_interface_engine(listener_setup) -> None:
    """Eight connections from one address at full speed against the listener's defaults: no refusal."""
    settings, keyring, url = listener_setup
    messages = stream(3000)
    with LiveListener(settings, keyring) as live:
        report = send(live.port, messages)
        stats = live.stop()
    assert_every_message_landed_once(report, url, messages)
    assert not report.naks and stats.refused_messages == 0 and stats.refused_connections == 0


def test_a_sender_over_its_rate_gets_ae_with_the_wait_and_gets_through(listener_setup) -> None:
    settings, keyring, url = listener_setup
    messages = stream(300)
    with LiveListener(settings, keyring, max_messages_per_second_per_client=100) as live:
        report = send(live.port, messages)
        stats = live.stop()
    assert_every_message_landed_once(report, url, messages)
    assert stats.refused_messages > 0 and stats.commit_failures == 0
    assert report.naks and all(reason.startswith("AE 207 rule mllp.rate_limited; retry after ")
                               for reason in report.naks)


def test_wedge_detector_rebuilds_and_audits_once(listener_setup, monkeypatch) -> None:
    """Flushes that fail for a reason no retry cures, while the database answers: after wedge_after_s the
    listener rebuilds its database side, logs it once and audits listener.degraded."""
    import connectors.hl7.commit as commit

    settings, keyring, url = listener_setup
    broken = threading.Event()
    real_flush = commit.GroupCommitter._flush

    def flaky_flush(self, batch):
        if broken.is_set():
            raise psycopg.errors.InvalidSqlStatementName("simulated lost statement")
        return real_flush(self, batch)

    monkeypatch.setattr(commit.GroupCommitter, "_flush", flaky_flush)
    before = _admin(url, "select coalesce(max(event_id), 0) from audit.events")[0][0]
    messages = stream(400)
    with LiveListener(settings, keyring, wedge_after_s=0.5, max_connections_per_client=0) as live:
        broken.set()
        timer = threading.Timer(1.6, broken.clear)
        timer.start()
        report = send(live.port, messages, deadline_s=60)
        timer.join()
        stats = live.stop()
    assert_every_message_landed_once(report, url, messages)
    assert stats.degraded >= 1 and stats.commit_failures > 0
    events = _admin(url, "select details from audit.events where action = 'listener.degraded' and event_id > %s",
                    (before,))
    assert events and all("simulated" not in str(e) for e in events)
    assert events[0][0]["last_error"] == "InvalidSqlStatementName 26000"


@pytest.fixture
def restartable(tmp_path, settings):
    """A private embedded PostgreSQL that a test may restart, initialised with the session's key."""
    from orchestration.warehouse import EmbeddedPostgres, find_postgres_bin_dir
    from orchestration.warehouse.database import init_database

    if find_postgres_bin_dir() is None:
        pytest.skip("no PostgreSQL binaries to run a private cluster")
    home = tmp_path / "home"
    cluster = EmbeddedPostgres(home)
    cluster.start()
    own = Settings(home=home, database_url=None, master_key=settings.master_key, key_file=settings.key_file)
    try:
        init_database(own)
        yield own, cluster
    finally:
        cluster.destroy()


def test_postgresql_restart_mid_stream(restartable, keyring) -> None:
    own, cluster = restartable
    url = cluster.admin_url("wardflow")

    def inject(live: LiveListener) -> None:
        cluster.stop()
        time.sleep(0.5)
        cluster.start()

    report, stats, messages = run_with_fault(own, keyring, url, inject, n=2000, db_retry_max_s=0.5,
                                             max_connections_per_client=0)
    assert_every_message_landed_once(report, url, messages)
    assert set(report.naks) <= {"AE 207 rule landing.commit_failed; retry after 1 s"}
    assert stats.degraded == 0  # the database was down: an outage, not a wedge

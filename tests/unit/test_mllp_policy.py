"""Pure parts of the MLLP listener: which ACKs a message gets, per-client limits, the refusal audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.hl7.limits import ClientLimits, RefusalLog, TokenBucket
from connectors.hl7.parse import Hl7ParseError, parse_message
from connectors.hl7.replies import (
    COMMIT_FAILED,
    FRAME_TOO_LONG,
    ControlIds,
    is_positive,
    parse_outcome,
    replies,
)
from connectors.hl7.tls import ListenerConfigError, check_transport, normalise_fingerprint

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def message(msh15: str = "", msh16: str = "") -> bytes:
    return (f"MSH|^~\\&|MON|ICU|WARDFLOW|HOSP|20261129120000||ORU^R01^ORU_R01|C-1|P|2.6|||{msh15}|{msh16}\r"
            "PID|1||SECRET^^^HOSP^MR\r").encode()


def codes(acks: list[bytes]) -> list[str]:
    return [a.split(b"\r")[1].decode().split("|")[1] for a in acks]


@pytest.mark.parametrize(("msh15", "msh16", "outcome", "expected"), [
    ("", "", "accept", ["AA"]), ("", "", "error", ["AE"]), ("", "", "reject", ["AR"]),
    ("AL", "AL", "accept", ["CA", "AA"]), ("AL", "NE", "accept", ["CA"]), ("NE", "AL", "accept", ["AA"]),
    ("NE", "NE", "accept", []), ("AL", "AL", "error", ["CE"]), ("NE", "AL", "error", ["AE"]),
    ("AL", "ER", "reject", ["CR"]), ("ER", "NE", "accept", []),
])
def test_ack_policy(msh15: str, msh16: str, outcome: str, expected: list[str]) -> None:
    msg = parse_message(message(msh15, msh16))
    error = None if outcome == "accept" else COMMIT_FAILED
    acks = replies(msg, outcome, error=error, control_ids=ControlIds(), now=NOW)  # type: ignore[arg-type]
    assert codes(acks) == expected
    assert [is_positive(a) for a in acks] == [c in ("AA", "CA") for c in expected]
    assert all(b"SECRET" not in a for a in acks)


def test_unparsable_and_oversize_get_one_nak() -> None:
    acks = replies(None, "reject", error=FRAME_TOO_LONG, control_ids=ControlIds(), now=NOW)
    assert codes(acks) == ["AR"] and b"104^" in acks[0]
    assert parse_outcome(Hl7ParseError(203, "version.unsupported", "MSH-12")) == "reject"
    assert parse_outcome(Hl7ParseError(101, "msh.control_id.required", "MSH-10")) == "error"


def test_control_ids_are_unique_and_short() -> None:
    ids = ControlIds()
    seen = {ids.next() for _ in range(1000)}
    assert len(seen) == 1000 and max(len(x) for x in seen) <= 20


def test_token_bucket_and_connection_limits() -> None:
    now = [0.0]
    limits = ClientLimits(2, 5, clock=lambda: now[0])
    assert limits.open("ip:a") and limits.open("ip:a") and not limits.open("ip:a") and limits.open("ip:b")
    assert sum(limits.allow_message("ip:a") for _ in range(20)) == 5      # burst of one second
    now[0] = 1.0
    assert sum(limits.allow_message("ip:a") for _ in range(20)) == 5      # refilled at 5/s
    limits.close("ip:a")
    assert limits.open("ip:a")
    assert ClientLimits(None, None).allow_message("x")
    bucket = TokenBucket(10, 1, 0.0)
    assert bucket.take(0.0) and not bucket.take(0.05) and bucket.take(0.1)


def test_refusals_are_audited_once_per_client_per_interval() -> None:
    now = [0.0]
    log = RefusalLog(60, clock=lambda: now[0])
    log.note("cert:ab", "unknown_certificate")
    first = log.due()
    assert [(e.client, e.reason, e.count) for e in first] == [("cert:ab", "unknown_certificate", 1)]
    for _ in range(500):
        log.note("cert:ab", "unknown_certificate")
    assert log.due() == []                                                # within the minute: held back
    now[0] = 61
    assert [(e.reason, e.count) for e in log.due()] == [("unknown_certificate", 500)]
    log.note("ip:1", "rate_limited", 3)
    events = log.due()
    log.put_back(events)                                                  # database down: kept, retried
    assert [(e.client, e.count) for e in log.due()] == [("ip:1", 3)]


def test_plaintext_only_on_loopback_and_fingerprints() -> None:
    check_transport("127.0.0.1", tls=False, allow_plaintext=False)
    check_transport("::1", tls=False, allow_plaintext=False)
    check_transport("0.0.0.0", tls=True, allow_plaintext=False)  # noqa: S104
    check_transport("10.0.0.5", tls=False, allow_plaintext=True)
    with pytest.raises(ListenerConfigError):
        check_transport("0.0.0.0", tls=False, allow_plaintext=False)  # noqa: S104
    assert normalise_fingerprint("AB:" * 31 + "CD") == "ab" * 31 + "cd"
    with pytest.raises(ValueError):
        normalise_fingerprint("not a fingerprint")

"""Which acknowledgements the MLLP listener sends for one message, and with which code. Pure, no I/O.

Outcomes (``connectors/hl7/ack.py`` builds the bytes):

* accept — the message is committed in landing.hl7_messages (or was already: a resend). Original mode:
  AA. Enhanced mode: CA if MSH-15 asks for it, then an application ACK AA on the same connection if
  MSH-16 asks for it. Landing is this system's application processing, so both are known at commit time
  and go out back to back, commit ACK first.
* error (transient: resend later) — the commit failed (database unavailable, ERR 207) or the sender is
  over its message rate (ERR 207): AE, or in enhanced mode CE (AE when only MSH-16 asks for ACKs); ERR-8
  names the rule and the wait (``rule mllp.rate_limited; retry after 0.2 s``).
  Content errors found by the parser (table 0357 codes 100–104, 207) are also AE/CE, following HL7
  2.9.2: AE is "error in content"; the raw bytes are committed to landing.rejected first.
* reject (do not resend as is) — unsupported message type, event, processing id or version (codes
  200–203), a frame over the size limit (ERR 104, nothing of it kept), or a sender the client certificate
  may not use: AR, or CR in enhanced mode.

A message that could not be parsed gets one ACK (AE/AR) built from whatever MSH could be read.
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime

from connectors.hl7.ack import Outcome, ack_code, ack_mode, build_ack, wants_application_ack, wants_commit_ack
from connectors.hl7.parse import Hl7Message, Hl7ParseError

_REJECT_CODES = frozenset({200, 201, 202, 203})

COMMIT_FAILED = Hl7ParseError(207, "landing.commit_failed", "message", retry_after_s=1)
UNSTORABLE = Hl7ParseError(207, "landing.unstorable", "message")
FRAME_TOO_LONG = Hl7ParseError(104, "mllp.frame_too_long", "frame")
SENDER_NOT_ALLOWED = Hl7ParseError(207, "mllp.sender_not_registered", "MSH-3", segment_id="MSH", segment_index=1,
                                   field_position=3)


def rate_limited(wait_s: float) -> Hl7ParseError:
    """AE for a sender over its message rate, telling it how long to wait (ERR-8)."""
    return Hl7ParseError(207, "mllp.rate_limited", "message", retry_after_s=wait_s)


def parse_outcome(error: Hl7ParseError) -> Outcome:
    """AR/CR for what this receiver does not support at all, AE/CE for errors in the content."""
    return "reject" if error.code in _REJECT_CODES else "error"


def replies(msg: Hl7Message | None, outcome: Outcome, *, error: Hl7ParseError | None, control_ids: ControlIds,
            now: datetime, raw: bytes = b"") -> list[bytes]:
    """The ACK payloads (unframed) to send, in order; empty when the sender asked for none."""
    if msg is None or ack_mode(msg) == "original":
        return [build_ack(msg, ack_code(msg, outcome), error=error, control_id=control_ids.next(), now=now,
                          raw=raw)]
    out = []
    if wants_commit_ack(msg, outcome):
        out.append(build_ack(msg, ack_code(msg, outcome, commit=True), error=error,
                             control_id=control_ids.next(), now=now))
    if (outcome == "accept" or not out) and wants_application_ack(msg, outcome):
        out.append(build_ack(msg, ack_code(msg, outcome, commit=False), error=error,
                             control_id=control_ids.next(), now=now))
    return out


def is_positive(ack: bytes) -> bool:
    """True for AA/CA (MSA-1 of an ACK built here; MSA is the second segment)."""
    msa = ack.split(b"\r", 2)[1]
    return msa[4:6] in (b"AA", b"CA")


class ControlIds:
    """MSH-10 of the ACKs this process sends: a random per-process prefix and a counter (≤ 20 chars)."""

    def __init__(self) -> None:
        self._prefix = "WF" + os.urandom(4).hex().upper()
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter)}"

"""Verification of the hash-chained audit log (the SQL side computes hashes on insert)."""

from __future__ import annotations

from connectors.settings import Settings
from orchestration.warehouse.database import connect

VERIFY = """
select event_id, prev_hash, hash,
       audit.event_hash(prev_hash, occurred_at, actor, action, subject, details) as recomputed,
       lag(hash) over (order by event_id) as previous
from audit.events order by event_id
"""


def verify_chain(settings: Settings, role: str = "compliance") -> dict:
    """Walk the chain; the first event whose hash or link does not verify is reported."""
    events = 0
    with connect(settings, role) as conn:
        for event_id, prev_hash, stored, recomputed, previous in conn.execute(VERIFY):
            events += 1
            expected_prev = previous if previous is not None else b"\x00"
            if bytes(stored) != bytes(recomputed) or bytes(prev_hash) != bytes(expected_prev):
                return {"ok": False, "events": events, "first_broken": event_id}
    return {"ok": True, "events": events, "first_broken": None}

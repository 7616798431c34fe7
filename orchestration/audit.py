"""`wardflow audit verify`: the keyed audit chain checked in Python, against the head anchored outside the database.

The MAC is recomputed here from the stored columns with the audit key (connectors/crypto.py), independently of
the SQL that computed it (orchestration/warehouse/sql/03_audit.sql). Every problem is reported as a range of
event ids, not only the first. Reports hold event ids and counts, never event details.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from connectors.auditlog import read_anchors
from connectors.crypto import load_keyring
from connectors.settings import Settings
from orchestration.warehouse.database import connect

EVENTS = ("select event_id, occurred_at, actor, action, subject, details::text, prev_hash, hash "
          "from audit.events order by event_id")
GENESIS = b"\x00"


def event_mac(key: bytes, prev: bytes, event_id: int, occurred_at: datetime, actor: str, action: str,
              subject: str, details: str) -> bytes:
    """HMAC-SHA256 over the previous hash, the id (8 bytes big-endian) and the fields joined by U+001F."""
    stamp = occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    text = "\x1f".join((stamp, actor, action, subject, details))
    return hmac.digest(key, prev + event_id.to_bytes(8, "big", signed=True) + text.encode(), "sha256")


def chain_problems(key: bytes, rows) -> tuple[list[tuple[int, str]], dict[int, bytes]]:
    """(event id, problem) for every event that does not verify or link, and each event's stored hash."""
    problems: list[tuple[int, str]] = []
    hashes: dict[int, bytes] = {}
    previous_id, previous_hash = 0, GENESIS
    for event_id, occurred_at, actor, action, subject, details, prev, stored in rows:
        prev, stored = bytes(prev), bytes(stored)
        if not hmac.compare_digest(stored, event_mac(key, prev, event_id, occurred_at, actor, action, subject,
                                                     details)):
            problems.append((event_id, "altered"))  # content, id or link changed, or not appended with the key
        elif prev != previous_hash:
            # an authentic event whose predecessor is not the one before it: what lay between was removed
            gap = range(previous_id + 1, event_id)
            problems += [(i, "removed") for i in gap] if gap else [(event_id, "unlinked")]
        hashes[event_id] = stored
        previous_id, previous_hash = event_id, stored
    return problems, hashes


def anchor_problems(anchors: list[dict], hashes: dict[int, bytes]) -> list[tuple[int, str]]:
    """Anchored heads the database no longer has (tail removed) or has with another hash."""
    problems: list[tuple[int, str]] = []
    last = max(hashes, default=0)
    highest = max((a["event_id"] for a in anchors), default=0)
    problems += [(i, "tail_removed") for i in range(last + 1, highest + 1)]
    for entry in anchors:
        stored = hashes.get(entry["event_id"])
        if entry["event_id"] <= last and stored != entry["hash"]:
            problems.append((entry["event_id"], "anchor_mismatch" if stored is not None else "removed"))
    return problems


def ranges(problems: list[tuple[int, str]]) -> list[dict]:
    """Consecutive ids with the same problem merged into one range."""
    out: list[dict] = []
    for event_id, problem in sorted(set(problems)):
        if out and out[-1]["problem"] == problem and out[-1]["last"] == event_id - 1:
            out[-1]["last"] = event_id
        else:
            out.append({"first": event_id, "last": event_id, "problem": problem})
    return out


def verify_chain(settings: Settings, role: str = "compliance") -> dict:
    """Every broken range of the chain and of its anchor; ok only when there is none."""
    key = load_keyring(settings).audit_key()
    with connect(settings, role) as conn:
        problems, hashes = chain_problems(key, conn.execute(EVENTS))
    anchors, bad_lines = read_anchors(settings)
    broken = ranges(problems + anchor_problems(anchors, hashes))
    return {"ok": not broken and not bad_lines, "events": len(hashes), "broken": broken,
            "first_broken": broken[0]["first"] if broken else None,
            "anchored_head": max((a["event_id"] for a in anchors), default=None),
            "unreadable_anchor_lines": bad_lines}

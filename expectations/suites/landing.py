"""Landing health per sender: rejection and duplicate rates per source kind (rejected input has no trusted
sender), control-id reuse per sender, and, when the device registry is in use, no MLLP sender outside it.
Warnings: they tell an engineer which feed degraded; the rows that did land are not wrong."""

from __future__ import annotations

from expectations.checks import RELATION, Check, make

SUITE = "landing"
ASSET = ("landing", "hl7_messages")
MAX_REJECTED = 0.05
MAX_DUPLICATES = 0.05
MAX_REUSED = 0.01


def _batch_rate(column: str, limit: float) -> str:
    """Rows: one per batch, bad when the batch's share of ``column`` is over ``limit``. Counted from the
    batches table, which is written by the connector, not from the rows the rate is about."""
    return f"""
select source_kind as grp, count(*) filter (where bad) as unexpected, count(*) as total, 0::bigint as allowed,
       (array_agg(batch_id::text) filter (where bad))[1:5] as sample_keys
from (select b.batch_id, b.source_kind,
             b.{column} > {limit} * greatest(b.landed + b.duplicates + b.rejected, 1) as bad
      from landing.ingest_batches as b where b.finished_at is not null) as batches
cross join (select from {RELATION} as m limit 1) as landed  -- judged once something landed
group by source_kind
order by count(*) filter (where bad) > 0 desc, source_kind"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


REUSED = f"""select m.message_id::text as row_key, m.sender as grp, m.control_id_reused as bad from {RELATION} as m"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

REGISTERED = f"""
select m.message_id::text as row_key, m.sender as grp,
       not exists (select from landing.device_registry as r where r.active and r.sender <> ''
                   and (m.sender = r.sender or split_part(m.sender, '|', 1) = r.sender)) as bad
from {RELATION} as m
where m.source_kind = 'mllp' and exists (select from landing.device_registry as r where r.active and r.sender <> '')"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


def suite() -> list[Check]:
    return [
        Check(SUITE, "rejection rate under threshold", ASSET, "warning", _batch_rate("rejected", MAX_REJECTED),
              f"No batch with more than {MAX_REJECTED:.0%} of its input rejected."),
        Check(SUITE, "duplicate rate under threshold", ASSET, "warning", _batch_rate("duplicates", MAX_DUPLICATES),
              f"No batch with more than {MAX_DUPLICATES:.0%} of its input already landed."),
        make(SUITE, "control-id reuse under threshold", ASSET, "warning", REUSED, rate=MAX_REUSED,
             description=f"At most {MAX_REUSED:.0%} of a sender's messages reuse a control id with other content."),
        make(SUITE, "MLLP senders registered", ASSET, "warning", REGISTERED,
             description="When the device registry lists senders, every MLLP message comes from one of them."),
    ]

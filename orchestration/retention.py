"""`wardflow retention apply`: delete what is past its declared retention period, with evidence.

Rules are ``config.meta.retention`` on sources and models, read through the privacy catalog
(orchestration/catalog.py); floors per schema come from ``vars.privacy_policy.retention_floors``. A row is purged
when its date column is older than the period, it is not under a legal hold (``audit.legal_holds``: by batch, or
the whole relation), and, for ``keep_deidentified``, the pipeline has processed it (its key is at or below every
incremental model's watermark for that source, so its de-identified form is in the vault and clinical layers).
Deletion runs in batches, one short transaction each; each batch's transaction also appends a
``retention.batch`` audit event (its count, time range and key digest), so a purge interrupted between batches
leaves evidence of every batch it committed. Evidence per relation goes to ``audit.retention_log``
(rule, count, oldest and newest affected time, SHA-256 over the sorted deleted keys) and to one hash-chained
audit event. Keys are surrogate ids; nothing here reads or logs a data value.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from connectors import auditlog
from orchestration.catalog import RetentionRule, policy
from orchestration.warehouse.database import scalar

BATCH = 5000
# Named conditions a rule may add with `only_when` (a declaration names one; SQL is not written in YAML).
CONDITIONS = {"resolved": sql.SQL("t.status <> 'open'")}


@dataclass
class Purge:
    """What one rule did (or, in a dry run, would do) to one relation."""

    relation: str
    rule: str
    action: str
    dry_run: bool
    affected: int = 0
    held: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    keys_digest: str = ""
    skipped: str = ""  # why the rule was not applied ('' = applied)
    keys: list[int] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "keys"}


def keys_digest(keys: Iterable[int]) -> str:
    """SHA-256 over the sorted keys, one decimal per line: evidence a verifier recomputes from a list of ids."""
    return hashlib.sha256("".join(f"{k}\n" for k in sorted(keys)).encode()).hexdigest()


def floor_problem(rule: RetentionRule, floors: dict | None = None) -> str:
    """'' when the rule keeps rows at least as long as its schema's floor, else the one-line reason."""
    floors = policy().get("retention_floors", {}) if floors is None else floors
    floor = int(floors.get(rule.schema, 0))
    if rule.days < floor:
        return f"{rule.days} days is below the {floor}-day floor for schema {rule.schema}"
    return ""


def rule_problem(rule: RetentionRule) -> str:
    """'' when the rule can be applied as declared, else why it is not (it is then skipped, and says so)."""
    if rule.legal_hold:
        return "legal hold on the whole relation (meta.retention.legal_hold)"
    if not rule.key_column:
        return "the rule names no key column (meta.retention.key)"
    if rule.only_when and rule.only_when not in CONDITIONS:
        return f"unknown condition only_when={rule.only_when} (known: {', '.join(CONDITIONS)})"
    if rule.action == "keep_deidentified" and not rule.processed_by:
        return "keep_deidentified needs processed_by (the watermark source that proves the row was processed)"
    return floor_problem(rule)


def _past_period(rule: RetentionRule, cutoff: datetime) -> tuple[sql.Composable, dict]:
    """The rows of `t` past their period and eligible by the rule's conditions (holds aside)."""
    parts: list[sql.Composable] = [sql.SQL("t.{} < %(cutoff)s").format(sql.Identifier(rule.date_column))]
    params: dict = {"cutoff": cutoff, "relation": rule.relation, "source": rule.processed_by}
    if rule.action == "keep_deidentified":
        parts.append(sql.SQL("t.{} <= (select coalesce(min(w.high_water), 0) from vault.build_watermarks w "
                             "where w.source = %(source)s)").format(sql.Identifier(rule.key_column)))
    if rule.only_when:
        parts.append(CONDITIONS[rule.only_when])
    return sql.SQL(" and ").join(parts), params


def _held(rule: RetentionRule) -> sql.Composable:
    """True for a row under an open legal hold (on its batch, or on the whole relation)."""
    by_batch = (sql.SQL(" or h.batch_id = t.{}").format(sql.Identifier(rule.hold_key)) if rule.hold_key
                else sql.SQL(""))
    return sql.SQL("exists (select 1 from audit.legal_holds h where h.relation = %(relation)s "
                   "and h.released_at is null and (h.batch_id is null{}))").format(by_batch)


def _table(rule: RetentionRule) -> sql.Composable:
    schema, name = rule.relation.split(".", 1)
    return sql.SQL("{}.{} as t").format(sql.Identifier(schema), sql.Identifier(name))


def _count_held(conn: psycopg.Connection, rule: RetentionRule, cutoff: datetime) -> int:
    past, params = _past_period(rule, cutoff)
    query = sql.SQL("select count(*) from {} where {} and {}").format(_table(rule), past, _held(rule))
    return int(scalar(conn.execute(query, params)))


def _batch(conn: psycopg.Connection, rule: RetentionRule, cutoff: datetime, size: int, *,
           delete: bool, after: int) -> list[tuple[int, datetime]]:
    """Keys and dates of the next `size` purgeable rows above key `after`; deleted unless `delete` is False."""
    past, params = _past_period(rule, cutoff)
    key, date = sql.Identifier(rule.key_column), sql.Identifier(rule.date_column)
    pick = sql.SQL("select t.ctid from {table} where {past} and not {held} and t.{key} > %(after)s "
                   "order by t.{key} limit %(size)s").format(table=_table(rule), past=past, held=_held(rule), key=key)
    if delete:
        query = sql.SQL("delete from {table} where t.ctid in ({pick}) returning t.{key}, t.{date}").format(
            table=_table(rule), pick=pick, key=key, date=date)
    else:
        query = sql.SQL("select t.{key}, t.{date} from {table} where t.ctid in ({pick})").format(
            table=_table(rule), pick=pick, key=key, date=date)
    return [(int(k), d) for k, d in conn.execute(query, {**params, "after": after, "size": size}).fetchall()]


def purge(conn: psycopg.Connection, rule: RetentionRule, now: datetime, *, dry_run: bool,
          batch: int = BATCH, run_id: str = "") -> Purge:
    """Apply one rule in batches (each batch its own transaction, so locks stay short)."""
    result = Purge(rule.relation, rule.text, rule.action, dry_run)
    result.skipped = rule_problem(rule)
    if result.skipped:
        return result
    cutoff = now - timedelta(days=rule.days)
    with conn.transaction():
        result.held = _count_held(conn, rule, cutoff)
    after = 0
    while True:
        with conn.transaction():
            rows = _batch(conn, rule, cutoff, batch, delete=not dry_run, after=after)
            if rows and not dry_run:  # committed with the delete, or not at all
                auditlog.record(conn, "retention.batch", rule.relation, {
                    "run_id": run_id, "rule": rule.text, "affected": len(rows),
                    "oldest": min(d for _, d in rows).isoformat(), "newest": max(d for _, d in rows).isoformat(),
                    "keys_digest": keys_digest(k for k, _ in rows)})
        if not rows:
            break
        after = max(k for k, _ in rows)
        result.keys += [k for k, _ in rows]
        dates = [d for _, d in rows] + [d for d in (result.oldest, result.newest) if d is not None]
        result.oldest, result.newest = min(dates), max(dates)
    result.affected, result.keys_digest = len(result.keys), keys_digest(result.keys)
    return result


LOG = ("insert into audit.retention_log (run_id, relation, rule, action, dry_run, affected, held, oldest, newest, "
       "keys_digest, operator, event_id) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")


def record_evidence(conn: psycopg.Connection, run_id: str, result: Purge) -> None:
    """One audit event and one audit.retention_log row for one relation, in one transaction."""
    details = {"run_id": run_id, **{k: v for k, v in result.as_dict().items() if k not in ("relation",)}}
    with conn.transaction():
        action = "retention.dry_run" if result.dry_run else "retention.purge"
        event_id = auditlog.record(conn, action, result.relation, details)
        conn.execute(LOG, (run_id, result.relation, result.rule, result.action, result.dry_run, result.affected,
                           result.held, result.oldest, result.newest, result.keys_digest, auditlog.operator_name(),
                           event_id))


def apply_rules(conn: psycopg.Connection, rules: Iterable[RetentionRule], *, dry_run: bool,
                now: datetime | None = None, batch: int = BATCH) -> dict:
    """Every rule in turn, its evidence recorded; `conn` must not be in autocommit mode."""
    run_id = uuid.uuid4().hex
    now = now or datetime.now(UTC)
    results = []
    for rule in rules:
        result = purge(conn, rule, now, dry_run=dry_run, batch=batch, run_id=run_id)
        record_evidence(conn, run_id, result)
        results.append(result)
    return {"run_id": run_id, "dry_run": dry_run, "at": now.isoformat(timespec="seconds"),
            "relations": [r.as_dict() for r in results],
            "deleted": 0 if dry_run else sum(r.affected for r in results)}


def load_rules() -> list[RetentionRule]:
    """The project's retention rules, from a freshly parsed manifest."""
    from orchestration.catalog import retention_rules
    from orchestration.project import prepare_manifest

    return retention_rules(json.loads(prepare_manifest().read_text()))


def apply_retention(settings, *, dry_run: bool, batch: int = BATCH) -> dict:
    """`wardflow retention apply`: every declared rule, as the pipeline role; the audit head anchored after."""
    from orchestration.warehouse.database import connect

    rules = load_rules()
    with connect(settings, "pipeline") as conn:
        report = apply_rules(conn, rules, dry_run=dry_run, batch=batch)
        auditlog.anchor(settings, conn)
    return report


def place_hold(settings, relation: str, reason: str, batch_id: str | None = None) -> int:
    """A legal hold on a relation (or one ingest batch of it), audited; returns its id."""
    from orchestration.warehouse.database import connect

    with connect(settings, "pipeline") as conn:
        with conn.transaction():
            hold_id = int(scalar(conn.execute(
                "insert into audit.legal_holds (relation, batch_id, reason, placed_by) values (%s, %s, %s, %s) "
                "returning hold_id", (relation, batch_id, reason, auditlog.operator_name()))))
            auditlog.record(conn, "retention.hold", relation, {"hold_id": hold_id, "batch_id": batch_id})
        auditlog.anchor(settings, conn)
    return hold_id


def release_hold(settings, hold_id: int) -> bool:
    """Release an open hold, audited; False when there is no open hold with that id."""
    from orchestration.warehouse.database import connect

    with connect(settings, "pipeline") as conn:
        with conn.transaction():
            row = conn.execute("update audit.legal_holds set released_at = now() where hold_id = %s and "
                               "released_at is null returning relation", (hold_id,)).fetchone()
            if row is not None:
                auditlog.record(conn, "retention.release", row[0], {"hold_id": hold_id})
        auditlog.anchor(settings, conn)
    return row is not None

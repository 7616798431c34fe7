"""Scrubbing free text in the warehouse: reads texts of ``vault.vault_texts`` that have no scrubbed row for
this scrubber version and these known values, scrubs each with the patient's known values (decrypted in
the keyed session) and date shift, and upserts ``clinical.scrubbed_texts``. A text whose scrubbing raises,
runs past the time budget (interrupted there, see time_limit.py) or is longer than the size cap is withheld
(no text stored) and counted: fail closed. Logs and results carry counts only, never a text or a known value.

Incremental: only new texts, texts of a patient whose known values grew or who was merged, and — when
``deid.VERSION`` changes — every text (the version is stored per row).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import psycopg

from deid import VERSION, KnownValues, scrub, warm_up
from orchestration.warehouse.time_limit import TimeLimitExceeded, time_limit

MAX_CHARS = 20_000  # longer texts are withheld: scrubbing time grows with length
TIME_BUDGET_S = 2.0  # per text; a slower text is withheld even if scrubbing finished
BATCH = 500
TAG_KIND = {"[NAME]": "name", "[PHONE]": "phone", "[EMAIL]": "email", "[ADDRESS]": "address",
            "[DEVICE]": "device", "[DATE]": "date", "[ORG]": "org"}

PENDING = """
select t.text_key, t.text_kind, t.patient_key, vault.decrypt_text(t.text_enc, t.key_version),
       vault.decrypt_text(k.known_values_enc, k.key_version), vault.date_shift_days(t.patient_key),
       coalesce(k.last_hl7_message_id, 0) || ':' || coalesce(k.last_fhir_row_id, 0)
from vault.vault_texts as t
left join vault.patient_known_values as k using (patient_key)
left join clinical.scrubbed_texts as s using (text_key)
where s.text_key is null or s.scrubber_version <> %(version)s or s.patient_key is distinct from t.patient_key
   or s.known_mark is distinct from coalesce(k.last_hl7_message_id, 0) || ':' || coalesce(k.last_fhir_row_id, 0)
order by t.patient_key, t.text_key
"""
UPSERT = """
insert into clinical.scrubbed_texts as s (text_key, text_kind, patient_key, scrubbed_text, status, withheld_reason,
                                          scrubber_version, known_mark, scrubbed_at)
values (%s, %s, %s, %s, %s, %s, %s, %s, now())
on conflict (text_key) do update set text_kind = excluded.text_kind, patient_key = excluded.patient_key,
  scrubbed_text = excluded.scrubbed_text, status = excluded.status, withheld_reason = excluded.withheld_reason,
  scrubber_version = excluded.scrubber_version, known_mark = excluded.known_mark, scrubbed_at = now()
"""
# texts whose source row is gone (a full refresh that dropped them, a purge) leave the scrubbed table too
ORPHANS = "delete from clinical.scrubbed_texts as s where not exists (select 1 from vault.vault_texts t where t.text_key = s.text_key)"


@dataclass
class ScrubReport:
    scrubbed: int = 0
    withheld: int = 0
    withheld_error: int = 0
    withheld_timeout: int = 0
    withheld_too_long: int = 0
    removed: int = 0
    version: str = VERSION

    def as_dict(self) -> dict:
        return asdict(self)


def known_items(known_json: str | None) -> list[tuple[str, str]]:
    """The vault's ``value → tag`` object as (value, kind) pairs for deid.KnownValues."""
    if not known_json:
        return []
    return [(value, TAG_KIND.get(tag, "id")) for value, tag in json.loads(known_json).items()]


def scrub_one(text: str, known: KnownValues, shift: int | None,
              scrubber: Callable[..., str] = scrub) -> tuple[str | None, str | None]:
    """(scrubbed text, None) or (None, reason): fail closed on any error, a slow text or an oversized one."""
    if len(text) > MAX_CHARS:
        return None, "too_long"
    warm_up()  # once per process, outside the limit: lazy loading is not the text's fault
    started = time.perf_counter()
    try:
        with time_limit(TIME_BUDGET_S):  # interrupts a runaway text in the main thread (see time_limit.py)
            out = scrubber(text, known, shift)
    except TimeLimitExceeded:
        return None, "timeout"
    except Exception:  # noqa: BLE001 - any failure withholds the text; the reason is counted, never the text
        return None, "error"
    if time.perf_counter() - started > TIME_BUDGET_S:  # where it could not interrupt (not the main thread)
        return None, "timeout"
    return out, None


def scrub_pending(conn: psycopg.Connection, scrubber: Callable[..., str] = scrub) -> ScrubReport:
    """Scrub every pending text (see module doc) on a keyed pipeline connection, in batches; commits."""
    report = ScrubReport()
    report.removed = conn.execute(ORPHANS).rowcount
    rows = conn.execute(PENDING, {"version": VERSION}).fetchall()
    cache: tuple[str | None, str | None, KnownValues] | None = None
    batch: list[tuple] = []
    for text_key, kind, patient_key, body, known_json, shift, mark in rows:
        if cache is None or cache[:2] != (patient_key, mark):
            cache = (patient_key, mark, KnownValues.build(known_items(known_json)))
        scrubbed, reason = scrub_one(body or "", cache[2], shift, scrubber)
        _count(report, reason)
        batch.append((text_key, kind, patient_key, scrubbed, "withheld" if reason else "scrubbed", reason, VERSION, mark))
        if len(batch) >= BATCH:
            _write(conn, batch)
            batch = []
    _write(conn, batch)
    conn.commit()
    return report


def _count(report: ScrubReport, reason: str | None) -> None:
    if reason is None:
        report.scrubbed += 1
        return
    report.withheld += 1
    setattr(report, f"withheld_{reason}", getattr(report, f"withheld_{reason}") + 1)


def _write(conn: psycopg.Connection, batch: Iterable[tuple]) -> None:
    batch = list(batch)
    if batch:
        with conn.cursor() as cur:
            cur.executemany(UPSERT, batch)

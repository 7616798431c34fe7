"""Run quality suites end to end: the checks (expectations/suites/), Great Expectations over the database as
the pipeline role, results stored in audit.quality_results and Data Docs under WARDFLOW_HOME/data_docs.
Used by the Dagster asset checks (orchestration/checks/quality_checks.py) and `wardflow check`. Logs and
returns counts, names and keyed hashes only."""

from __future__ import annotations

import logging
from pathlib import Path

from connectors.settings import Settings
from expectations.checks import Check
from expectations.results import QualityOutcome, quality_outcome, row_key_hasher, store

_log = logging.getLogger(__name__)
QUALITY_KEY_PURPOSE = "quality-row-keys"


def docs_dir(settings: Settings) -> Path:
    return settings.home / "data_docs"


def run_quality(settings: Settings, checks: list[Check], run_id: str, *, build_docs: bool = True,
                keep: bool = True) -> list[QualityOutcome]:
    """Validate ``checks``; store one result row per expectation and group (``keep``); build Data Docs."""
    from connectors.crypto import load_keyring
    from expectations.context import run_checks
    from orchestration.warehouse.database import connect

    ring = load_keyring(settings)
    hasher = row_key_hasher(ring.key(QUALITY_KEY_PURPOSE, ring.pseudonym_version))
    folder = docs_dir(settings) if build_docs else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    pairs = run_checks(settings, "pipeline", checks, docs_dir=folder, row_key_hasher=hasher)
    outcomes = [quality_outcome(check, result) for check, result in pairs]
    if keep:
        with connect(settings, "pipeline") as conn:
            stored = store(conn, run_id, outcomes)
        _log.info("quality: %d expectations, %d failed, %d result rows", len(outcomes),
                  sum(not o.success for o in outcomes), stored)
    return outcomes

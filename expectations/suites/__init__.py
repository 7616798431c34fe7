"""The suites: quality (physiology, time, integrity, injected, landing) built here from the suite modules and
the reference CSVs; privacy in privacy.py (its own checks, run by the privacy asset checks)."""

from __future__ import annotations

from expectations.checks import Check


def quality_suites() -> dict[str, list[Check]]:
    """Suite name → its expectations, in a stable order. Adding an expectation: one entry in a suite module."""
    from expectations.suites import injected, integrity, landing, physiology, timing

    return {m.SUITE: m.suite() for m in (physiology, timing, integrity, injected, landing)}


def all_checks(suite: str | None = None) -> list[Check]:
    suites = quality_suites()
    if suite is not None and suite not in suites:
        raise ValueError(f"unknown suite {suite!r}: one of {', '.join(suites)}")
    return [c for name, checks in suites.items() if suite in (None, name) for c in checks]

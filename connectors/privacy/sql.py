"""The detectors of ``connectors/privacy/detectors.py`` as PostgreSQL regular expressions (ARE, ``~``), for the
checks and scans that search the database. They scrub nothing: free text is scrubbed once, in Python, by deid/.

The pattern text is the Python one (written in the subset both engines read, see detectors.py); the only
rewrite is the named context group ``(?P<pre>…)`` → ``(…)``, so it is group 1 in SQL. Use them in checks that
search the database (dbt tests, Great Expectations, ``matches_any``), e.g.
``select count(*) from t where note ~ %(pattern)s`` with ``POSIX_PATTERNS["mobile_phone"]`` as parameter.
The literals assume ``standard_conforming_strings = on`` (the default), so backslashes are not doubled.

What only Python verifies — SQL over-reports these, never under-reports:

- ``resident_id``: the check digit (ISO 7064 MOD 11-2) and the birth year being ≤ this year; SQL checks
  length, province code and month 01-12 / day 01-31 only (``110101199002307774`` matches in SQL).
- ``date``: a real calendar day (31 February, 29 February of a common year pass in SQL).
- fullwidth digits and letters: Python folds them before matching; in SQL wrap the column in
  ``translate(col, FOLD_FROM, FOLD_TO)`` (``matches_any`` does).
Span details may differ where several readings overlap (PostgreSQL prefers the longest match; Python the
first alternative), which does not change whether a value contains personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connectors.privacy.detectors import DETECTORS, FOLD_FROM, FOLD_TO, Detector

__all__ = ["FOLD_FROM", "FOLD_TO", "POSIX_PATTERNS", "folded", "literal", "matches_any", "to_posix"]


def to_posix(pattern: str) -> str:
    """A detector pattern as PostgreSQL reads it (the context group becomes capture group 1)."""
    return pattern.replace("(?P<pre>", "(")


POSIX_PATTERNS: dict[str, str] = {kind: to_posix(d.pattern) for kind, d in DETECTORS.items()}


def literal(text: str) -> str:
    """A standard-conforming SQL string literal (for generated SQL; prefer bind parameters)."""
    return "'" + text.replace("'", "''") + "'"


def folded(column_sql: str) -> str:
    return f"translate({column_sql}, {literal(FOLD_FROM)}, {literal(FOLD_TO)})"


def matches_any(column_sql: str, kinds: Iterable[str] | None = None,
                detectors: Mapping[str, Detector] = DETECTORS) -> str:
    """A boolean SQL expression: the (text) column contains something any selected detector matches."""
    chosen = list(detectors) if kinds is None else list(kinds)
    value = folded(column_sql)
    return "(" + " or ".join(f"{value} ~ {literal(to_posix(detectors[k].pattern))}" for k in chosen) + ")"

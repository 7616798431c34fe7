"""Privacy suite: no direct identifier pattern in any text column an analyst can read, and pseudonyms in
their declared format. Runs over exactly the rows analysts are served."""

from __future__ import annotations

# The detectors' own PostgreSQL patterns (connectors/privacy/sql.py): one definition for Python scrubbing,
# SQL scrubbing, `wardflow scan` and this suite. Pseudonym columns are checked by format instead.
DETECTED_KINDS = ("resident_id", "mobile_phone", "email")
PSEUDONYM_FORMAT = r"^[0-9a-f]{32}$"


def privacy_expectations(text_columns: list[str], pseudonym_columns: list[str],
                         pseudonym_format: str = PSEUDONYM_FORMAT) -> list:
    """``pseudonym_format``: the catalog's (vars.privacy_policy.pseudonym_format), this default otherwise."""
    import great_expectations as gx

    from connectors.privacy.sql import POSIX_PATTERNS

    out = []
    for column in text_columns:
        for detector in DETECTED_KINDS:
            pattern = POSIX_PATTERNS[detector]
            out.append(gx.expectations.ExpectColumnValuesToNotMatchRegex(
                column=column, regex=pattern, meta={"name": f"no {detector} in {column}"}))
    for column in pseudonym_columns:
        out.append(gx.expectations.ExpectColumnValuesToMatchRegex(
            column=column, regex=pseudonym_format, meta={"name": f"{column} is a pseudonym"}))
    return out

"""Privacy suite: no resident-ID, mobile or e-mail shape in any text column an analyst can read, and pseudonyms
in their declared format. Runs over exactly the rows analysts are served.

The shapes are the checks' own (expectations/suites/privacy_detectors.py), not the scrubber's nor the
detectors `wardflow scan` shares with it: a check that re-ran the scrubber's patterns could only find what the
scrubber already removes. They are applied to the stored text (fullwidth digits are the Python detector
check's: orchestration/checks/detector_check.py)."""

from __future__ import annotations

PSEUDONYM_FORMAT = r"^[0-9a-f]{32}$"


def privacy_expectations(text_columns: list[str], pseudonym_columns: list[str],
                         pseudonym_format: str = PSEUDONYM_FORMAT) -> list:
    """``pseudonym_format``: the catalog's (vars.privacy_policy.pseudonym_format), this default otherwise."""
    import great_expectations as gx

    from expectations.suites.privacy_detectors import SQL_PATTERNS

    out: list[gx.expectations.Expectation] = []
    for column in text_columns:
        for shape, pattern in SQL_PATTERNS.items():
            out.append(gx.expectations.ExpectColumnValuesToNotMatchRegex(
                column=column, regex=pattern, meta={"name": f"no {shape} in {column}"}))
    for column in pseudonym_columns:
        out.append(gx.expectations.ExpectColumnValuesToMatchRegex(
            column=column, regex=pseudonym_format, meta={"name": f"{column} is a pseudonym"}))
    return out

"""Privacy suite: no direct identifier pattern in any text column an analyst can read, and pseudonyms in
their declared format. Runs as the analyst role, on exactly what analysts see."""

from __future__ import annotations

# PostgreSQL regular expressions (GX compiles them to `~`). Boundaries keep digits inside longer numbers
# from matching; pseudonym columns are checked by format instead.
DETECTORS = {
    "resident_id": r"(^|[^0-9])[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]([^0-9]|$)",
    "mobile_phone": r"(^|[^0-9])(\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}([^0-9]|$)",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
}
PSEUDONYM_FORMAT = r"^[0-9a-f]{32}$"


def privacy_expectations(text_columns: list[str], pseudonym_columns: list[str]) -> list:
    import great_expectations as gx

    out = []
    for column in text_columns:
        for detector, pattern in DETECTORS.items():
            out.append(gx.expectations.ExpectColumnValuesToNotMatchRegex(
                column=column, regex=pattern, meta={"name": f"no {detector} in {column}"}))
    for column in pseudonym_columns:
        out.append(gx.expectations.ExpectColumnValuesToMatchRegex(
            column=column, regex=PSEUDONYM_FORMAT, meta={"name": f"{column} is a pseudonym"}))
    return out

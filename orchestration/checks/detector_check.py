"""The independent detector check: a blocking asset check that runs the checks' own detectors
(expectations/suites/privacy_detectors.py, not the scrubber's) over every distinct value of every readable
text column of the release (analytics for wardflow_analyst, aggregates for wardflow_reader). Pseudonym
columns (treatment ``pseudonymize`` in the catalog) are left to the format expectation of the GX suite.

Its result names relations, columns, kinds and counts, never a value; a relation it cannot read is a
finding (fail closed, SQLSTATE only)."""


from collections import Counter
from functools import lru_cache

import dagster as dg
import psycopg
from psycopg import sql

from orchestration.resources import WardflowWarehouse

RELEASE_SCHEMAS = ("analytics", "aggregates")
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


@lru_cache(maxsize=1)
def _pseudonym_columns() -> frozenset[tuple[str, str]]:
    """(relation, column) of every release column the catalog declares a pseudonym."""
    import json

    from orchestration.catalog import Catalog
    from orchestration.project import wardflow_dbt

    catalog = Catalog.from_manifest(json.loads(wardflow_dbt.manifest_path.read_text()))
    return frozenset((c.relation, c.name) for c in catalog.columns
                     if c.layer in RELEASE_SCHEMAS and c.treatment == "pseudonymize")


def text_columns(conn: psycopg.Connection, skip: frozenset[tuple[str, str]] = frozenset()) -> list[tuple[str, str, str]]:
    rows = conn.execute("""select table_schema, table_name, column_name from information_schema.columns
                           where table_schema = any(%s) and data_type = any(%s) order by 1, 2, 3""",
                        (list(RELEASE_SCHEMAS), list(TEXT_TYPES))).fetchall()
    return [(s, t, c) for s, t, c in rows if (f"{s}.{t}", c) not in skip]


def _scan_column(conn: psycopg.Connection, schema: str, table: str, column: str) -> Counter:
    from expectations.suites.privacy_detectors import kinds_in

    kinds: Counter = Counter()
    query = sql.SQL("select distinct {c}::text from {t} where {c} is not null").format(
        c=sql.Identifier(column), t=sql.Identifier(schema, table))
    with conn.cursor() as cur:
        for (value,) in cur.execute(query):
            kinds.update(kinds_in(value))
    return kinds


def scan_release(conn: psycopg.Connection, skip: frozenset[tuple[str, str]] | None = None) -> list[dict]:
    """Every (relation, column) of the release in which a detector found something (kinds and the number
    of distinct values per kind), or that could not be read (``error``); empty when nothing was found."""
    found = []
    for schema, table, column in text_columns(conn, _pseudonym_columns() if skip is None else skip):
        try:
            with conn.transaction():  # a savepoint: one unreadable relation does not end the scan
                kinds = _scan_column(conn, schema, table, column)
        except psycopg.Error as exc:  # fail closed; the class and SQLSTATE only (messages can quote values)
            found.append({"relation": f"{schema}.{table}", "column": column, "kinds": {},
                          "error": f"{type(exc).__name__} {exc.sqlstate or ''}".strip()})
            continue
        if kinds:
            found.append({"relation": f"{schema}.{table}", "column": column, "kinds": dict(sorted(kinds.items()))})
    return found


@dg.asset_check(asset=dg.AssetKey(["analytics", "patients"]), name="independent_detectors", blocking=True,
                description="The checks' own detectors (validated resident IDs with any separators, Luhn card "
                            "numbers, phone shapes, e-mail incl. obfuscated, names by lexicon and cue; not the "
                            "scrubber's) find nothing in any text column of analytics or aggregates. Blocking.")
def detector_check(warehouse: WardflowWarehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        found = scan_release(conn)
        columns = len(text_columns(conn, _pseudonym_columns()))
    return dg.AssetCheckResult(passed=not found, severity=dg.AssetCheckSeverity.ERROR, metadata={
        "columns_scanned": columns, "findings": len(found), "found": dg.MetadataValue.json(found)})

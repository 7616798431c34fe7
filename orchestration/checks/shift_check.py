"""No unshifted timestamp: a blocking asset check per analytics model, generated from the catalog. Every column
declared ``treatment: date_shift`` is compared, patient by patient, with the real column it is made from (the
upstream clinical model holding the column its ``from`` names, with a patient_key), without recomputing the
shift (the check does not call the keyed shift function it checks):

- shift profile: the earliest and the latest published values of a patient differ from the real ones by the
  same offset, and that offset is a whole, non-zero number of weeks (an unshifted column has offset 0; a
  shift applied in a session time zone has one that is not whole weeks across a DST change);
- every row: no published value of a patient equals any real value of that patient (a row left unshifted among
  shifted ones is found even where the earliest and latest are right);
- year_only profile: every published value of the column is 1 January 00:00 UTC.

A published patient with values but no real ones, or a column whose source cannot be resolved, fails the
check (fail closed). Results hold relation, column and counts only."""


from collections.abc import Mapping
from functools import cache
from typing import Any

import dagster as dg
from psycopg import sql

from orchestration.catalog import layer_of, node_privacy
from orchestration.resources import WardflowWarehouse

WEEK_SECONDS = 7 * 86400

# One date_shift column against its real source; {pub}, {col}, {real}, {rcol} are identifiers.
COMPARE = """
with pub as (select patient_key, min({pubv}) as mn, max({pubv}) as mx,
                    bool_and({col} = date_trunc('year', {col} at time zone 'UTC') at time zone 'UTC') as year_only
             from {pub} where patient_key is not null group by patient_key),
real as (select patient_key, min({rcol}) as mn, max({rcol}) as mx from {real}
         where patient_key in (select patient_key from pub) group by patient_key)
select count(*) as patients,
       (select count(*) from {pub} as pr where pr.patient_key is not null and exists (
            select from {real} as rr where rr.patient_key = pr.patient_key and rr.{rcol} = {prv})) as equal_rows,
       count(*) filter (where p.mn is not null and (r.mn is null
                 or p.mn = r.mn or p.mx = r.mx
                 or (p.mn - r.mn) is distinct from (p.mx - r.mx)
                 or mod(extract(epoch from p.mn - r.mn)::numeric, {week}) <> 0)) as not_shifted,
       coalesce(bool_and(p.year_only), false) as year_only
from pub as p left join real as r using (patient_key)"""


@cache
def utc_offset() -> str:
    """The hospital's UTC offset ('+08:00') from the dbt var default_utc_offset ('+0800'): local_time columns hold
    the shifted instant on that wall clock and are compared as the instant they stand for."""
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

    from orchestration.project import DBT_PROJECT_DIR

    raw = str(yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["default_utc_offset"])
    return f"{raw[:3]}:{raw[3:5]}"


def _instant(column: sql.Composable, local: bool, offset: str) -> sql.Composable:
    """A published value as an instant: a wall-clock (timestamp) column minus the offset, read as UTC."""
    if not local:
        return column
    return sql.SQL("(({} - {}::interval) at time zone 'UTC')").format(column, sql.Literal(offset))


def shifted_columns(manifest: Mapping[str, Any], model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The model's date_shift columns with their real source (relation, column), None where unresolved."""
    upstream = [manifest["nodes"][u] for u in model.get("depends_on", {}).get("nodes", [])
                if u in manifest["nodes"] and layer_of(manifest["nodes"][u]) == "clinical"]
    out = []
    for column in node_privacy(model):
        if column.treatment != "date_shift":
            continue
        source = str(column.extra.get("from", column.name)).split(".")[-1]
        candidates = [c.relation for node in upstream for c in node_privacy(node)
                      if c.name == source and any(k.name == "patient_key" for k in node_privacy(node))]
        out.append({"column": column.name, "relation": column.relation, "source_column": source,
                    "source": candidates[0] if len(candidates) == 1 else None,
                    "local_time": bool(column.extra.get("local_time"))})
    return out


def compare(conn, item: dict[str, str | None]) -> dict[str, Any]:
    """Counts for one column: published patients, those whose values are not a whole-week shift of the real."""
    if item["source"] is None:
        return {**item, "patients": 0, "equal_rows": -1, "not_shifted": -1, "year_only": False}
    column, local = sql.Identifier(str(item["column"])), bool(item.get("local_time"))
    offset = utc_offset() if local else ""
    query = sql.SQL(COMPARE).format(
        pub=sql.Identifier(*str(item["relation"]).split(".")), col=column,
        pubv=_instant(column, local, offset), prv=_instant(sql.SQL("pr.{}").format(column), local, offset),
        real=sql.Identifier(*str(item["source"]).split(".")), rcol=sql.Identifier(str(item["source_column"])),
        week=sql.Literal(WEEK_SECONDS))
    patients, equal_rows, not_shifted, year_only = conn.execute(query).fetchone()
    return {**item, "patients": int(patients), "equal_rows": int(equal_rows), "not_shifted": int(not_shifted),
            "year_only": bool(year_only)}


def passed(result: dict[str, Any]) -> bool:
    return result["source"] is not None and (result["year_only"] or (result["not_shifted"] == 0
                                                                     and result["equal_rows"] == 0))


def build_shift_checks(manifest: Mapping[str, Any]) -> list[dg.AssetChecksDefinition]:
    models = sorted((n for n in manifest["nodes"].values()
                     if n["resource_type"] == "model" and layer_of(n) == "analytics"), key=lambda n: n["name"])
    return [_shift_check(m["name"], columns) for m in models if (columns := shifted_columns(manifest, m))]


def _shift_check(name: str, columns: list[dict[str, str | None]]) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["analytics", name]), name="no_unshifted_time", blocking=True,
                    description="Every date_shift column (from the catalog: "
                                + ", ".join(str(c["column"]) for c in columns)
                                + ") is its real source moved by a whole, non-zero number of weeks per patient "
                                  "(or reduced to the year under year_only). Blocking.")
    def _check(warehouse: WardflowWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as conn:
            conn.execute("set local timezone = 'UTC'")
            results = [compare(conn, c) for c in columns]
        return dg.AssetCheckResult(passed=all(passed(r) for r in results), severity=dg.AssetCheckSeverity.ERROR,
                                   metadata={"columns": dg.MetadataValue.json(results)})

    return _check

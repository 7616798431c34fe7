"""Column lineage: for every column of every dbt model, the columns it is computed from, read by sqlglot from
the compiled SQL of the model and stitched through the ephemeral staging and intermediate models (dbt inlines
them as `__dbt__cte__<model>`; here they stay models of their own) up to the source field where staging
extracts it (`config.meta.source_field` in the staging YAML: HL7 `OBX-5`, FHIR `Patient.name.family` …).

Pure functions over a compiled manifest: no database, no data value. Names, declarations and counts only.
The classification along lineage (what an untreated path carries into a release) is in
orchestration/lineage_policy.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage

from orchestration.catalog import declaration, layer_of

EPHEMERAL_PREFIX = "__dbt__cte__"


@dataclass(frozen=True)
class ColumnLineage:
    """One column of one relation (``layer.name``) with its declaration and the columns it is computed from."""

    relation: str
    column: str
    layer: str
    materialization: str
    category: str = ""
    level: int = 0
    identifier: str = ""
    treatment: str = ""
    source_field: str = ""
    upstream: tuple[str, ...] = ()  # "relation.column" of each input
    copied: bool = False  # the SQL only copies its input (no expression applies a treatment)
    resolved: bool = True  # False: the model's SQL could not be analysed

    @property
    def key(self) -> str:
        return f"{self.relation}.{self.column}"


@dataclass(frozen=True)
class Graph:
    """Every column of the project by ``relation.column``, and which relations the release roles read."""

    columns: Mapping[str, ColumnLineage]
    release: frozenset[str] = field(default_factory=frozenset)

    def inputs(self, key: str) -> list[ColumnLineage]:
        return [self.columns[k] for k in self.columns[key].upstream if k in self.columns and k != key]


def relation_of(props: Mapping[str, Any]) -> str:
    """``layer.name``: the Dagster asset key and, for stored models, schema.table."""
    return f"{layer_of(props)}.{props['name']}"


def _declared(props: Mapping[str, Any]) -> dict[str, ColumnLineage]:
    relation, layer = relation_of(props), layer_of(props)
    materialization = "source" if props["resource_type"] == "source" else props["config"].get("materialized", "")
    out = {}
    for column in props.get("columns", {}).values():
        p = declaration(column)
        meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
        out[column["name"]] = ColumnLineage(
            relation, column["name"], layer, materialization, str(p.get("category", "")), int(p.get("level") or 0),
            str(p.get("identifier", "")), str(p.get("treatment", "")), str(meta.get("source_field") or ""))
    return out


def _nodes(manifest: Mapping[str, Any], package: str) -> list[Mapping[str, Any]]:
    nodes = [n for n in manifest["nodes"].values()
             if n["resource_type"] in ("model", "seed") and n.get("package_name") == package]
    return nodes + [s for s in manifest["sources"].values() if s.get("package_name", package) == package]


def _table_index(nodes: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(schema, table) as compiled SQL names it → relation; ephemeral models by their CTE name."""
    index = {}
    for props in nodes:
        relation = relation_of(props)
        if props["resource_type"] != "source" and props["config"].get("materialized") == "ephemeral":
            index[("", EPHEMERAL_PREFIX + props["name"])] = relation
            continue
        table = props.get("identifier") if props["resource_type"] == "source" else props.get("alias")
        index[(props["schema"].lower(), (table or props["name"]).lower())] = relation
    return index


def _safe(relation: str) -> str:
    return "t__" + relation.replace(".", "__")


def _rewrite(tree: exp.Expr, index: Mapping[tuple[str, str], str]) -> set[str]:
    """Drop the inlined ephemeral CTEs and name every model, seed or source table by a plain safe name, so that
    lineage stops at the model boundary; returns the relations the SQL reads."""
    with_ = tree.args.get("with_") or tree.args.get("with")
    if with_ is not None:
        for cte in list(with_.expressions):
            if cte.alias.startswith(EPHEMERAL_PREFIX):
                cte.pop()
        if not with_.expressions:
            with_.pop()
    read = set()
    for table in list(tree.find_all(exp.Table)):
        relation = index.get((table.db.lower(), table.name.lower())) or index.get(("", table.name))
        if relation:
            read.add(relation)
            if not table.alias:  # columns may be qualified by the old name
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("this", exp.to_identifier(_safe(relation)))
            table.set("db", None)
            table.set("catalog", None)
    return read


def _leaves(node: Node) -> Iterator[tuple[str, str]]:
    for n in node.walk():
        if isinstance(n.expression, exp.Table) and n.expression.name.startswith("t__"):
            yield n.expression.name, n.name.split(".")[-1]


def _copies(node: Node) -> bool:
    """True when every step from the output to its input columns is a bare column (nothing applied)."""
    for n in node.walk():
        if isinstance(n.expression, exp.Table):
            continue
        if not isinstance(n.expression.unalias() if isinstance(n.expression, exp.Alias) else n.expression,
                          exp.Column):
            return False
    return True


def _model_edges(props: Mapping[str, Any], index: Mapping[tuple[str, str], str],
                 schemas: Mapping[str, Mapping[str, str]]) -> dict[str, tuple[tuple[str, ...], bool]] | None:
    """column → (inputs as relation.column, copied) for one compiled model; None when it cannot be analysed."""
    code = props.get("compiled_code")
    if not code:
        return None
    try:
        tree = sqlglot.parse_one(code, dialect="postgres")
        read = _rewrite(tree, index)
    except (sqlglot.errors.SqlglotError, RecursionError):
        return None
    back = {_safe(r): r for r in read}
    try:
        schema = {_safe(r): dict(schemas.get(r, {})) for r in read}
        nodes = lineage(None, tree.copy(), schema=schema, dialect="postgres")
    except (sqlglot.errors.SqlglotError, RecursionError, KeyError, ValueError):
        return _syntactic_edges(tree, back)
    out = {}
    for name, node in nodes.items():
        inputs = sorted({f"{back[t]}.{c}" for t, c in _leaves(node) if t in back})
        out[name] = (tuple(inputs), _copies(node))
    return out


def _syntactic_edges(tree: exp.Expr, back: Mapping[str, str]) -> dict[str, tuple[tuple[str, ...], bool]] | None:
    """Fallback when sqlglot cannot qualify the query (a set-returning function whose columns it cannot know):
    each output column's inputs are the columns of model tables its own expression names. Coarser: a column
    read through a CTE of the model is not followed."""
    if not isinstance(tree, exp.Select):
        return None
    aliases = {t.alias_or_name: t.name for t in tree.find_all(exp.Table) if t.name in back}
    out = {}
    for projection in tree.selects:
        inputs = {f"{back[aliases[c.table]]}.{c.name}" for c in projection.find_all(exp.Column) if c.table in aliases}
        out[projection.alias_or_name] = (tuple(sorted(inputs)), isinstance(projection.unalias(), exp.Column))
    return out


def build_graph(manifest: Mapping[str, Any], package: str = "wardflow", only: set[str] | None = None) -> Graph:
    """The lineage of every declared column of the project (models need `compiled_code`: a compiled manifest);
    with `only`, the SQL of those relations alone is analysed (the others keep their declarations)."""
    nodes = _nodes(manifest, package)
    declared = {relation_of(p): _declared(p) for p in nodes}
    schemas = {r: {c: "text" for c in cols} for r, cols in declared.items()}
    index = _table_index(nodes)
    columns: dict[str, ColumnLineage] = {}
    for props in nodes:
        relation = relation_of(props)
        analyse = props["resource_type"] == "model" and (only is None or relation in only)
        edges = _model_edges(props, index, schemas) if analyse else {}
        for name, column in declared[relation].items():
            if edges is None:
                column = _with(column, resolved=False)
            elif name in edges:
                column = _with(column, upstream=edges[name][0], copied=edges[name][1])
            columns[column.key] = column
    return Graph(columns, frozenset(release_relations(manifest, package)))


def _with(column: ColumnLineage, **changes: Any) -> ColumnLineage:
    return replace(column, **changes)


def release_relations(manifest: Mapping[str, Any], package: str = "wardflow") -> set[str]:
    """Relations a release role (vars.privacy_policy.release_roles) reads — every model of a schema publication
    grants to one (orchestration/publication.py), and any model dbt grants to one — and every model a dbt
    exposure (a data-sharing agreement) depends on."""
    from orchestration.catalog import layer_of, policy
    from orchestration.publication import RELEASE

    roles = set(policy()["release_roles"])
    out = {relation_of(n) for n in _nodes(manifest, package) if n["resource_type"] != "source"
           and (RELEASE.get(layer_of(n)) in roles or roles & set((n["config"].get("grants") or {}).get("select") or []))}
    for exposure in (manifest.get("exposures") or {}).values():
        for unique_id in exposure.get("depends_on", {}).get("nodes", []):
            node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id)
            if node:
                out.add(relation_of(node))
    return out


def with_compiled_code(manifest: Mapping[str, Any], compiled: Mapping[str, str]) -> dict[str, Any]:
    """A parsed manifest with the compiled SQL of the models given (unique_id → SQL) filled in."""
    nodes = {uid: ({**n, "compiled_code": compiled[uid]} if uid in compiled else n)
             for uid, n in manifest["nodes"].items()}
    return {**manifest, "nodes": nodes}


def missing_code(manifest: Mapping[str, Any], package: str = "wardflow") -> list[str]:
    return sorted(n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"
                  and n.get("package_name") == package and not n.get("compiled_code"))

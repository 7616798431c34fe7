"""The one privacy catalog for Python: every declared column of every model, seed and source, typed, built
from the dbt manifest, and the policy (vocabulary, layer rules, release roles, pseudonym format) read from
the same data file the dbt macros read (``vars.privacy_policy`` in dbt_project.yml).

Every Python consumer (Dagster tags, the Great Expectations checks, ``wardflow scan``, the classification
report) asks this module instead of reading ``config.meta.privacy`` itself. Holds declarations only, never
a data value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

DBT_PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"
FIELDS = ("category", "level", "identifier", "hipaa", "treatment")


@lru_cache(maxsize=1)
def policy() -> Mapping[str, Any]:
    """vars.privacy_policy of dbt_project.yml: vocabulary, direct_identifiers per layer, release_roles,
    pseudonym_format."""
    return yaml.safe_load(DBT_PROJECT_FILE.read_text())["vars"]["privacy_policy"]


def declaration(column: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest column's privacy declaration (config.meta.privacy, or meta.privacy), {} when none."""
    meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
    return dict(meta.get("privacy") or {})


def layer_of(props: Mapping[str, Any]) -> str:
    """The folder under models/ (staging, vault, clinical, …); the source name for sources; 'seeds'."""
    if props["resource_type"] == "source":
        return props["source_name"]
    if props["resource_type"] == "seed":
        return "seeds"
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "models"


@dataclass(frozen=True)
class Column:
    """One declared column: where it lives and its privacy declaration (extra keys such as from, mask,
    shift_by in ``extra``)."""

    layer: str
    node: str  # model, seed or source table name
    relation: str  # schema.alias as stored (ephemeral models: the model name)
    materialization: str
    name: str
    data_type: str
    description: str
    category: str = ""
    level: int = 0
    identifier: str = ""
    hipaa: str = ""
    treatment: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_text(self) -> bool:
        return (self.data_type or "text").lower() in ("text", "varchar", "character varying")


def _node_columns(props: Mapping[str, Any]) -> list[Column]:
    layer = layer_of(props)
    materialization = "source" if props["resource_type"] == "source" else props["config"].get("materialized", "")
    name = props["name"]
    table = props.get("identifier") if props["resource_type"] == "source" else props.get("alias")
    relation = name if materialization == "ephemeral" else f"{props['schema']}.{table or name}"
    out = []
    for column in props.get("columns", {}).values():
        p = declaration(column)
        out.append(Column(layer, name, relation, materialization, column["name"], column.get("data_type") or "",
                          (column.get("description") or "").strip(), str(p.get("category", "")),
                          int(p.get("level") or 0), str(p.get("identifier", "")), str(p.get("hipaa", "")),
                          str(p.get("treatment", "")), {k: v for k, v in p.items() if k not in FIELDS}))
    return out


@dataclass(frozen=True)
class Catalog:
    columns: tuple[Column, ...]

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], package: str = "wardflow") -> Catalog:
        items = [n for n in manifest["nodes"].values()
                 if n["resource_type"] in ("model", "seed") and n.get("package_name") == package]
        items += [s for s in manifest["sources"].values() if s.get("package_name", package) == package]
        return cls(tuple(c for props in items for c in _node_columns(props)))

    def of(self, node: str) -> list[Column]:
        return [c for c in self.columns if c.node == node]

    def in_layer(self, layer: str) -> list[Column]:
        return [c for c in self.columns if c.layer == layer]

    def snapshot(self) -> list[str]:
        """One line per column, the review form of every privacy change (tests/unit/test_catalog.py)."""
        return sorted(f"{c.layer} {c.relation}.{c.name}: {c.identifier}/{c.treatment} {c.category} L{c.level} "
                      f"hipaa={c.hipaa}" for c in self.columns)


def node_privacy(props: Mapping[str, Any]) -> list[Column]:
    """The declared columns of one manifest node (for consumers handed a single node, e.g. the translator)."""
    return _node_columns(props)


# --- retention and sharing declarations (relation meta and exposures, same manifest) -----------------------

RETENTION_ACTIONS = ("delete", "keep_deidentified")


@dataclass(frozen=True)
class RetentionRule:
    """config.meta.retention of one stored relation: how long its rows are kept, counted from which column,
    and what happens after (delete the row; keep_deidentified: delete the identified row once the pipeline has
    processed it, the de-identified form stays)."""

    relation: str
    layer: str
    days: int
    basis: str
    date_column: str
    key_column: str
    action: str
    legal_hold: bool = False
    hold_key: str = ""        # column matched against audit.legal_holds.batch_id ('' = whole-relation holds only)
    processed_by: str = ""    # watermark source (vault.build_watermarks.source) a row must be below to be purged
    only_when: str = ""       # name of a condition of orchestration/retention.py (e.g. resolved)

    @property
    def schema(self) -> str:
        return self.relation.split(".", 1)[0]

    @property
    def text(self) -> str:
        """The rule as evidence names it: period, column, action, legal basis."""
        return f"{self.days}d from {self.date_column}, {self.action}: {self.basis}"


def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return (props.get("config") or {}).get("meta") or props.get("meta") or {}


def retention_rules(manifest: Mapping[str, Any], package: str = "wardflow") -> list[RetentionRule]:
    """Every relation that declares a complete retention rule (days and the date column it counts from).
    Declarations without a date column (documentation only) are not rules and are left out."""
    items = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n.get("package_name") == package]
    items += [s for s in manifest["sources"].values() if s.get("package_name", package) == package]
    out = []
    for props in items:
        meta = dict(_meta(props).get("retention") or {})
        if not meta.get("from") or not meta.get("days"):
            continue
        name = props.get("identifier") if props["resource_type"] == "source" else props.get("alias")
        action = str(meta.get("action", "delete"))
        if action not in RETENTION_ACTIONS:
            raise ValueError(f"retention of {props['name']}: action must be one of {RETENTION_ACTIONS}")
        out.append(RetentionRule(f"{props['schema']}.{name or props['name']}", layer_of(props), int(meta["days"]),
                                 str(meta.get("basis", "")), str(meta["from"]), str(meta.get("key", "")), action,
                                 bool(meta.get("legal_hold", False)), str(meta.get("hold_key", "")),
                                 str(meta.get("processed_by", "")), str(meta.get("only_when", ""))))
    return sorted(out, key=lambda r: r.relation)


@dataclass(frozen=True)
class Agreement:
    """A data-sharing agreement: a dbt exposure's config.meta.agreement. `models` maps each allowed model to
    its allowed columns."""

    name: str
    recipient: str
    purpose: str
    legal_basis: str
    approver: str
    approved_on: str
    valid_from: str
    valid_until: str
    profile: str
    row_limit: int
    models: Mapping[str, tuple[str, ...]]


def agreements(manifest: Mapping[str, Any], package: str = "wardflow") -> dict[str, Agreement]:
    """Every exposure of the project that declares an agreement, by exposure name."""
    out = {}
    for props in manifest.get("exposures", {}).values():
        meta = _meta(props).get("agreement")
        if props.get("package_name", package) != package or not meta:
            continue
        out[props["name"]] = Agreement(
            props["name"], str(meta.get("recipient", "")), str(meta.get("purpose", "")),
            str(meta.get("legal_basis", "")), str(meta.get("approver", "")), str(meta.get("approved_on") or ""),
            str(meta.get("valid_from") or ""), str(meta.get("valid_until") or ""), str(meta.get("profile", "")),
            int(meta.get("row_limit") or 0),
            {model: tuple(columns or ()) for model, columns in (meta.get("models") or {}).items()})
    return out

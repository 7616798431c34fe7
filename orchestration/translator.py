"""One translator: asset key and group come from the dbt folder (= schema), never from model names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

LEVEL_ORDER = {"none": 0, "quasi": 1, "sensitive": 2, "direct": 3}


def layer_of(props: Mapping[str, Any]) -> str:
    """The folder under models/ (staging, vault, clinical, …); 'landing' for sources, 'seeds' for seeds."""
    if props["resource_type"] == "source":
        return props["source_name"]
    if props["resource_type"] == "seed":
        return "seeds"
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "models"


def column_privacy(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out = []
    for column in props.get("columns", {}).values():
        meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
        if meta.get("privacy"):
            out.append(meta["privacy"])
    return out


class WardflowTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([layer_of(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return layer_of(dbt_resource_props)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        """Privacy tags from the same declarations dbt checks: highest level and identifier kind."""
        declared = column_privacy(dbt_resource_props)
        tags = dict(super().get_tags(dbt_resource_props))
        if declared:
            tags["privacy_max_level"] = str(max(int(p.get("level", 0)) for p in declared))
            tags["privacy_identifiers"] = max((p.get("identifier", "none") for p in declared),
                                              key=lambda k: LEVEL_ORDER.get(k, 0))
        return tags

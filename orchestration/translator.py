"""One translator: asset key and group come from the dbt folder (= schema), never from model names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.catalog import layer_of, node_privacy

__all__ = ["WardflowTranslator", "layer_of"]

LEVEL_ORDER = {"none": 0, "quasi": 1, "sensitive": 2, "direct": 3}


class WardflowTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([layer_of(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return layer_of(dbt_resource_props)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        """Privacy tags from the same declarations dbt checks: highest level and identifier kind."""
        declared = [c for c in node_privacy(dbt_resource_props) if c.identifier]
        tags = dict(super().get_tags(dbt_resource_props))
        if declared:
            tags["privacy_max_level"] = str(max(c.level for c in declared))
            tags["privacy_identifiers"] = max((c.identifier for c in declared), key=lambda k: LEVEL_ORDER.get(k, 0))
        return tags

"""The `dagster/column_lineage` metadata of every dbt model's materialization (what the Dagster UI's column
lineage view shows), from the compiled manifest of the dbt invocation that built it. Names only."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.lineage import Graph, build_graph


def column_lineage_metadata(graph: Graph, relation: str) -> dg.TableColumnLineage | None:
    """One relation's columns → the columns of its parent assets they are computed from."""
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for column in graph.columns.values():
        if column.relation != relation:
            continue
        deps[column.column] = [dg.TableColumnDep(asset_key=dg.AssetKey(up.rsplit(".", 1)[0].split(".")),
                                                 column_name=up.rsplit(".", 1)[1])
                               for up in column.upstream if up.rsplit(".", 1)[0] != relation]
    return dg.TableColumnLineage(deps_by_column=deps) if deps else None


def with_column_lineage(events: Iterable[Any], manifest_path: Path | None,
                        context: dg.AssetExecutionContext) -> Iterator[Any]:
    """The dbt events, each model's Output carrying its column lineage (from the invocation's compiled
    manifest); events pass unchanged when the manifest cannot be read."""
    graph = None
    if manifest_path is not None and manifest_path.exists():
        try:
            graph = build_graph(json.loads(manifest_path.read_text()))
        except (OSError, ValueError, KeyError) as exc:  # lineage is evidence, not a reason to fail a build
            context.log.warning(f"column lineage not attached ({type(exc).__name__})")
    for event in events:
        if graph is not None and isinstance(event, dg.Output) and event.output_name:
            relation = ".".join(context.asset_key_for_output(event.output_name).path)
            lineage = column_lineage_metadata(graph, relation)
            if lineage is not None:
                event = event.with_metadata({**event.metadata, "dagster/column_lineage": lineage})
        yield event

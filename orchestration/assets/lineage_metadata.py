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


def with_column_lineage(events: Iterable[Any], manifest_path: Path, context: Any) -> Iterator[Any]:
    """The dbt events, each model's Output carrying its column lineage, from the compiled manifest of the
    invocation that built it; that compiled SQL is also kept for the audit/column_lineage asset. Events pass
    unchanged when the manifest cannot be read (lineage is evidence, not a reason to fail a build)."""
    graph = None
    try:
        manifest = json.loads(manifest_path.read_text())
        keep_compiled_code(manifest, context.op_def.name)
        graph = build_graph(manifest, only={".".join(k.path) for k in context.assets_def.keys})
    except (OSError, ValueError, KeyError) as exc:
        context.log.warning(f"column lineage not attached ({type(exc).__name__})")
    for event in events:
        if graph is not None and isinstance(event, dg.Output) and event.output_name:
            relation = ".".join(context.asset_key_for_output(event.output_name).path)
            lineage = column_lineage_metadata(graph, relation)
            if lineage is not None:
                event = event.with_metadata({**event.metadata, "dagster/column_lineage": lineage})
        yield event


def compiled_code_dir() -> Path:
    from orchestration.project import wardflow_dbt

    return Path(wardflow_dbt.project_dir) / "target" / "lineage"


def keep_compiled_code(manifest: dict, name: str) -> None:
    """unique_id → compiled SQL of every model this invocation compiled, in target/lineage/<name>.json."""
    code = {uid: n["compiled_code"] for uid, n in manifest["nodes"].items()
            if n["resource_type"] == "model" and n.get("compiled_code")}
    folder = compiled_code_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(code))


def kept_compiled_code() -> dict[str, str]:
    code: dict[str, str] = {}
    for path in sorted(compiled_code_dir().glob("*.json")):
        code.update(json.loads(path.read_text()))
    return code

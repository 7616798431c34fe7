"""Row counts per landing table and per persisted model (from the dbt manifest, so new models appear)."""

from __future__ import annotations

import json

from psycopg import sql

from connectors.settings import Settings
from orchestration.warehouse.database import connect, scalar

LANDING = ["landing.hl7_messages", "landing.fhir_resources", "landing.rejected", "landing.ingest_batches"]


def persisted_relations() -> list[str]:
    from orchestration.project import prepare_manifest, wardflow_dbt

    if not wardflow_dbt.manifest_path.exists():
        prepare_manifest()
    manifest = json.loads(wardflow_dbt.manifest_path.read_text())
    out = []
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed") and node["config"].get("materialized") != "ephemeral":
            out.append(f"{node['schema']}.{node['alias']}")
    return sorted(out)


def collect_status(settings: Settings) -> dict:
    relations: dict[str, int | None] = {}
    with connect(settings, "pipeline", start=False) as conn:  # read-only: never starts a server
        for name in LANDING + persisted_relations():
            schema, table = name.split(".")
            exists = scalar(conn.execute("select to_regclass(%s) is not null", (name,)))
            count = sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
            relations[name] = int(scalar(conn.execute(count))) if exists else None
        layers: dict[str, int] = {}
        for name, rows in relations.items():
            layers[name.split(".")[0]] = layers.get(name.split(".")[0], 0) + (rows or 0)
        rejected_open = scalar(conn.execute("select count(*) from landing.rejected where status = 'open'"))
    return {"relations": relations, "layers": layers, "rejected_open": rejected_open}

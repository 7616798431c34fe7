"""Compliance reports. The compliance report (HTML + JSON, sections in orchestration/compliance_report.py) and
the classification report; the classification report lists every column of every source, seed and model with
its declared privacy (the same declarations dbt enforces and audit.column_classification holds)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

FIELDS = ["layer", "relation", "materialization", "column", "category", "level", "identifier", "hipaa",
          "treatment", "description"]
LAYER_ORDER = ["landing", "staging", "intermediate", "vault", "clinical", "analytics", "aggregates", "recontact",
               "audit", "seeds"]


def classification_rows(manifest: dict) -> list[dict]:
    from orchestration.catalog import Catalog

    rows = [{"layer": c.layer, "relation": c.relation if c.materialization != "ephemeral" else _stored_name(manifest, c),
             "materialization": c.materialization, "column": c.name, "category": c.category,
             "level": c.level or "", "identifier": c.identifier, "hipaa": c.hipaa, "treatment": c.treatment,
             "description": c.description}
            for c in Catalog.from_manifest(manifest).columns]
    order = {name: i for i, name in enumerate(LAYER_ORDER)}
    return sorted(rows, key=lambda r: (order.get(r["layer"], 99), r["relation"]))


def _stored_name(manifest: dict, column) -> str:
    """schema.alias as the report always named ephemeral models too (they are never stored)."""
    node = manifest["nodes"].get(f"model.wardflow.{column.node}") or {}
    return f"{node.get('schema', '')}.{node.get('alias') or column.node}"


def write_classification_report(out_dir: Path) -> dict[str, Path]:
    from orchestration.project import prepare_manifest

    manifest = json.loads(prepare_manifest().read_text())
    rows = classification_rows(manifest)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "classification.csv", out_dir / "classification.md"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    md_path.write_text(_markdown(rows))
    return {"markdown": md_path, "csv": csv_path}


def _markdown(rows: list[dict]) -> str:
    by_treatment = Counter(r["treatment"] for r in rows)
    direct = [r for r in rows if r["identifier"] == "direct" and r["materialization"] not in ("ephemeral",)]
    lines = [
        "# Column classification",
        "",
        "Every column of every source, seed and model, as declared in `config.meta.privacy` (GB/T 39725-2020 "
        "category and level 1–5, identifier kind, HIPAA Safe Harbor identifier, treatment). dbt refuses to "
        "build when a column lacks a declaration.",
        "",
        f"- columns: {len(rows)}; relations: {len({r['relation'] for r in rows})}",
        "- by treatment: " + ", ".join(f"{k} {v}" for k, v in sorted(by_treatment.items())),
        f"- direct identifiers stored (landing, vault): {len(direct)}, all encrypted or pseudonymized",
        "",
    ]
    current = None
    for row in rows:
        if row["layer"] != current:
            current = row["layer"]
            lines += ["", f"## {current}", "", "| relation | column | category | level | identifier | hipaa | treatment |",
                      "|---|---|---|---|---|---|---|"]
        lines.append(f"| {row['relation']} | {row['column']} | {row['category']} | {row['level']} | "
                     f"{row['identifier']} | {row['hipaa']} | {row['treatment']} |")
    return "\n".join(lines) + "\n"


def build_compliance_report(settings) -> dict:
    """The compliance report as one JSON document (sections in orchestration/compliance_report.py), read as
    wardflow_compliance; the audit chain is verified when the master key is at hand."""
    from orchestration import compliance_report as cr
    from orchestration.lineage_store import load, release_problems
    from orchestration.warehouse.database import connect

    with connect(settings, "compliance") as conn:
        lineage = load(conn)
        database = conn.info.dbname
        sections = [cr.inventory(lineage), cr.classification(lineage, release_problems(lineage)), cr.checks(conn),
                    cr.k_anonymity(conn), cr.sharing(conn), cr.retention(conn), cr.keys(conn), cr.access(conn)]
    sections.append(_audit_chain(settings))
    from datetime import UTC, datetime

    return {"generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), "database": database,
            "sections": sections, "lineage": [{k: r[k] for k in ("relation", "column_name", "layer", "upstream",
                                                                 "source_field", "release")} for r in lineage]}


def _audit_chain(settings) -> dict:
    from connectors.crypto import KeyError_
    from orchestration.audit import verify_chain
    from orchestration.compliance_report import audit_chain

    try:
        return audit_chain(verify_chain(settings))
    except KeyError_:
        return audit_chain(None, "the master key is not available to this process (run `wardflow audit verify`)")


def write_compliance_report(settings, out_dir: Path) -> dict[str, Path]:
    """compliance-report.html (self-contained) and compliance-report.json in out_dir (mode 0600: it names
    relations and people who ran the pipeline, never a patient's value)."""
    from orchestration.report_html import render

    report = build_compliance_report(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "compliance-report.html", "json": out_dir / "compliance-report.json"}
    paths["html"].write_text(render(report))
    paths["json"].write_text(json.dumps(report, indent=1, default=str))
    for path in paths.values():
        path.chmod(0o600)
    return paths

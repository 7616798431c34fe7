"""The compliance report as one self-contained HTML page: inline CSS, an inline SVG lineage graph, no script
and nothing loaded from elsewhere (it opens offline and can be archived as one file). Renders the JSON document
built by orchestration/compliance_report.py; every text is escaped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

LAYERS = ("source fields", "landing", "seeds", "staging", "intermediate", "vault", "clinical", "analytics",
          "aggregates", "recontact", "audit")
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1500px;color:#1d2330;padding:0 16px}
h1{font-size:24px;margin-bottom:4px} h2{font-size:19px;margin:0 0 6px} .meta{color:#5b6474}
section{border:1px solid #d9dee7;border-radius:8px;padding:14px 18px;margin:18px 0;background:#fff}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:12.5px}
th,td{border-bottom:1px solid #e6e9ef;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f5f9;position:sticky;top:0} .summary{font-weight:600}
.law{font-size:12px;color:#37425a} .law td{border:0;padding:1px 6px} .bad{color:#b3261e} .ok{color:#1e7b34}
.scroll{max-height:420px;overflow:auto} nav a{margin-right:12px}
svg text{font:11px system-ui,sans-serif} .release rect{fill:#fde8e6;stroke:#b3261e}
"""


def render(report: Mapping[str, Any]) -> str:
    nav = " ".join(f'<a href="#{s["id"]}">{escape(s["title"])}</a>' for s in report["sections"])
    body = "\n".join(_section(s, report) for s in report["sections"])
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wardflow compliance report</title>'
            f'<style>{CSS}</style></head><body><h1>wardflow compliance report</h1>'
            f'<p class="meta">generated {escape(report["generated_at"])} · database {escape(report["database"])} · '
            f'names, levels, counts and digests only: no personal value</p><nav>{nav}</nav>{body}</body></html>\n')


def _section(s: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    laws = "".join(f"<tr><td>{escape(o['law'])}</td><td>{escape(o['provision'])}</td><td>{escape(o['duty'])}</td>"
                   "</tr>" for o in s["obligations"])
    extra = ""
    if s["id"] == "classification":
        extra = _violations(s.get("violations") or []) + '<h3>Lineage graph</h3>' + lineage_svg(report["lineage"])
    if s["id"] == "checks" and s.get("withdrawals"):
        extra = "<h3>Release withdrawals</h3>" + _table(["event", "time", "failed checks"], s["withdrawals"])
    css = "bad" if s.get("ok") is False or s.get("violations") else "summary"
    return (f'<section id="{escape(s["id"])}"><h2>{escape(s["title"])}</h2>'
            f'<p class="{css}">{escape(str(s["summary"]))}</p>'
            f'<table class="law"><tbody>{laws}</tbody></table>{extra}'
            f'{_table(s["columns"], s["rows"]) if s["columns"] else ""}</section>')


def _violations(violations: list[str]) -> str:
    if not violations:
        return '<p class="ok">Classification along lineage: every path into a release relation is treated.</p>'
    items = "".join(f"<li>{escape(v)}</li>" for v in violations)
    return f'<p class="bad">Untreated paths into a release relation:</p><ul class="bad">{items}</ul>'


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p>no records</p>"
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _graph(rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, str], set[tuple[str, str]], set[str]]:
    """Relation-level graph: relation → layer, edges (from, to), release relations; source fields grouped by
    segment or resource (HL7 PID, FHIR Observation …)."""
    layer = {r["relation"]: r["layer"] for r in rows}
    edges: set[tuple[str, str]] = set()
    for r in rows:
        for up in r.get("upstream") or []:
            parent = up.rsplit(".", 1)[0]
            if parent != r["relation"] and parent in layer:
                edges.add((parent, r["relation"]))
        if r.get("source_field"):
            kind, _, rest = r["source_field"].partition(" ")
            group = f"{kind} {rest.replace('-', '.').split('.')[0]}"
            layer[group] = "source fields"
            edges.add((group, r["relation"]))
    return layer, edges, {r["relation"] for r in rows if r.get("release")}


def lineage_svg(rows: Sequence[Mapping[str, Any]]) -> str:
    """An inline SVG: one column per layer, one box per relation, a curve per relation-to-relation lineage."""
    layer, edges, release = _graph(rows)
    columns: dict[str, list[str]] = defaultdict(list)
    for relation in sorted(layer):
        columns[layer[relation] if layer[relation] in LAYERS else "clinical"].append(relation)
    used = [name for name in LAYERS if columns.get(name)]
    width, step, box = 150, 22, 142
    pos = {rel: (20 + i * (width + 30), 50 + j * step) for i, name in enumerate(used)
           for j, rel in enumerate(columns[name])}
    height = 70 + step * max((len(columns[n]) for n in used), default=1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="lineage-graph" role="img" '
             f'aria-label="column lineage by relation" width="100%" viewBox="0 0 {20 + len(used) * (width + 30)} {height}">']
    parts += [f'<text x="{20 + i * (width + 30)}" y="30" font-weight="bold">{escape(n)}</text>'
              for i, n in enumerate(used)]
    for a, b in sorted(edges):
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            x1, y1, y2 = x1 + box, y1 + 8, y2 + 8
            parts.append(f'<path d="M{x1},{y1} C{x1 + 30},{y1} {x2 - 30},{y2} {x2},{y2}" fill="none" '
                         f'stroke="#8a94a6" stroke-opacity="0.45"><title>{escape(a)} → {escape(b)}</title></path>')
    for rel, (x, y) in sorted(pos.items()):
        label = rel.split(".", 1)[-1] if layer[rel] != "source fields" else rel
        css = ' class="release"' if rel in release else ""
        parts.append(f'<g{css}><rect x="{x}" y="{y}" width="{box}" height="17" rx="4" fill="#eef2f8" '
                     f'stroke="#7b8699"/><text x="{x + 5}" y="{y + 12}">{escape(label[:24])}</text>'
                     f'<title>{escape(rel)}</title></g>')
    parts.append("</svg>")
    return "".join(parts)

"""`wardflow report` as a compliance officer runs it: one self-contained HTML page and the same content as
JSON, every section with the obligations it evidences, the lineage graph, no personal value (the canary
patients every build carries, searched in every spelling the canary check uses) and no key. Headless Chromium
renders the page; the screenshot is docs/img/compliance-report.png, which docs/compliance.md shows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.canaries import load, normalize, searched_values
from orchestration.compliance_report import SECTIONS
from orchestration.warehouse.database import connect

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "img" / "compliance-report.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,2200"]


@pytest.fixture(scope="module")
def report(built, wardflow_env, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "report", "--out", str(out), "--json"],
                            capture_output=True, text=True, env={**os.environ, **wardflow_env}, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    paths = json.loads(result.stdout.strip().splitlines()[-1])
    return Path(paths["html"]), json.loads(Path(paths["json"]).read_text())


def test_every_section_is_there_with_its_obligations(report):
    html_path, data = report
    assert [s["id"] for s in data["sections"]] == list(SECTIONS)
    html = html_path.read_text()
    for s in data["sections"]:
        assert f'<section id="{s["id"]}">' in html
        assert {o["law"] for o in s["obligations"]} & {"PIPL", "Data Security Law", "Cybersecurity Law", "HIPAA"}
    laws = {o["law"] for s in data["sections"] for o in s["obligations"]}
    assert laws == {"PIPL", "Data Security Law", "Cybersecurity Law", "GB/T 39725-2020", "HIPAA"}
    by_id = {s["id"]: s for s in data["sections"]}
    assert by_id["audit_chain"]["ok"] is True
    assert by_id["classification"]["violations"] == []
    vitals = next(r for r in by_id["classification"]["rows"] if r[:2] == ["analytics.vital_signs", "value"])
    assert "HL7 OBX-5" in vitals[7]
    assert by_id["k_anonymity"]["rows"]
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)  # self-contained


def test_no_personal_value_and_no_key_in_the_report(report, settings, keyring):
    html_path, data = report
    with connect(settings, "pipeline", keyring=keyring) as conn:
        canaries = load(conn)
    assert canaries is not None
    texts = {"html": html_path.read_text(), "json": json.dumps(data, ensure_ascii=False)}
    for name, text in texts.items():
        flat = normalize(text)
        found = [c.kind for c in searched_values(canaries) if normalize(c.value) in flat]
        assert found == [], f"{name} holds canary values of kinds {found}"
        assert not [s for s in keyring.secret_strings() if s in text], f"{name} holds a key"


def test_chromium_renders_every_section_and_the_lineage_graph(report):
    html_path, data = report
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium (scripts/ensure-chromium installs it as root)")
    profile = html_path.parent / "chromium-profile"
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-dom", "--dump-dom",
                          html_path.as_uri()], capture_output=True, text=True, timeout=180).stdout
    for s in data["sections"]:
        assert f'id="{s["id"]}"' in dom and s["title"] in dom
    assert '<svg' in dom and 'id="lineage-graph"' in dom and "stg_hl7__observations" in dom
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-shot", f"--screenshot={SCREENSHOT}",
                           html_path.as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.returncode == 0 and SCREENSHOT.stat().st_size > 50_000
    assert "img/compliance-report.png" in (REPO / "docs" / "compliance.md").read_text()

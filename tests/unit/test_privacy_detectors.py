"""The privacy checks' own detectors: they find each kind in spellings the scrubber was not told about, stay
quiet on clinical wording and pseudonyms, and share no code with the scrubber."""

import ast
from pathlib import Path

import pytest

from expectations.suites import privacy_detectors
from expectations.suites.privacy_detectors import find, kinds_in

# A valid resident ID (check digit by ISO 7064 MOD 11-2), made up for the test.
RID = "11010519491231002X"


@pytest.mark.parametrize("text, kind", [
    (f"身份证{RID}", "resident_id"),
    ("证件 110105 19491231 002X 已核", "resident_id"),
    ("110105-1949-1231-002x", "resident_id"),
    ("".join(chr(ord(c) + 0xFEE0) for c in RID), "resident_id"),
    ("卡号 4111 1111 1111 1111", "card"),
    ("card 5500-0000-0000-0004 exp", "card"),
    ("回电138-1234-5678谢谢", "phone"),
    ("tel +86 139 1234 5678", "phone"),
    ("电话 138.1234.5678", "phone"),
    ("科室 010-87654321", "phone"),
    ("mail a.b@example.org", "email"),
    ("ZHANG.WEI@HOSP.CN", "email"),
    ("zhang at example dot com", "email"),
    ("li(at)hosp[dot]cn", "email"),
    ("wu＠example.org", "email"),
    ("王建国先生今日出院", "name"),
    ("联系人：欧阳娜娜", "name"),
    ("Kecheng GONGYE asked for water", "name"),
    ("seen by Dr. Smith", "name"),
])
def test_each_kind_is_found_however_spelled(text, kind):
    assert kind in kinds_in(text)


@pytest.mark.parametrize("text", [
    "11010519491231002Y",  # not a resident ID (check digit wrong)
    "4111 1111 1111 1112",  # Luhn fails
    "心率 88 次/分，血压 120/80 mmHg，血氧 97%",
    "2026-11-01 08:00 入院，予以吸氧 2 L/min",
    "患者〔姓名〕诉胸闷，家属〔姓名〕陪同，电话〔电话〕",
    "0f3a9c1e5b7d4a2c8e6f1b3d5a7c9e0f",
    "ECG lead II, SpO2 probe replaced",
])
def test_quiet_on_clinical_wording_and_pseudonyms(text):
    assert find(text) == []


def test_quiet_on_the_clinical_vocabulary():
    from deid.evaluation import clinical_vocabulary

    noisy = [w for w in clinical_vocabulary() if find(w)]
    assert len(noisy) == 0, len(noisy)


def test_the_detectors_share_no_code_with_the_scrubber():
    tree = ast.parse(Path(privacy_detectors.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith(("deid", "connectors"))}, imported


def test_findings_hold_no_value():
    f = find(f"身份证{RID}")[0]
    assert set(vars(f)) == {"kind", "start", "end"}

"""Detectors of personal data in text: what they find and what they must leave alone (how fast: benchmarks/deid.py)."""

import pytest
from stdnum.cn import ric

from connectors.privacy import DETECTORS, Span, configured, detect, scrub, scrub_known
from connectors.privacy.detectors import MRN_PREFIXES

RIC = "110101199003077774"  # valid check digit
RIC_BAD_CHECK = "110101199003077777"
MOBILE = "13812345678"


def kinds(text: str, only=None) -> list[str]:
    return [s.kind for s in detect(text, only)]


def found(text: str, kind: str) -> list[str]:
    return [text[s.start:s.end] for s in detect(text) if s.kind == kind]


def test_fixture_ids_are_what_they_claim():
    assert ric.is_valid(RIC) and not ric.is_valid(RIC_BAD_CHECK)


@pytest.mark.parametrize("text", [RIC, f"身份证{RIC}，", f"ID: {RIC}.", "11010119900307109X", "11010119900307109x",
                                  "110101900307123"])
def test_resident_id_positives(text):
    assert kinds(text) == ["resident_id"]


@pytest.mark.parametrize("text", [
    RIC_BAD_CHECK,                   # wrong check digit
    "110101199002307773",            # 30 February
    "110101209901017778",            # born in the future
    "990101199003077771",            # no province 99
    "1" + RIC, RIC + "1",            # inside a longer digit run
    "a" + RIC, RIC + "b",            # inside an alphanumeric token
])
def test_resident_id_negatives(text):
    assert "resident_id" not in kinds(text)


@pytest.mark.parametrize("text", [MOBILE, "+8613812345678", "+86 138 1234 5678", "0086-138-1234-5678",
                                  "86 13812345678", "138-1234-5678", "电话13812345678。", "tel:199 9999 0000"])
def test_mobile_positives(text):
    spans = detect(text)
    assert [s.kind for s in spans] == ["mobile_phone"]
    assert text[spans[0].start:spans[0].end].endswith(text.rstrip("。")[-4:])


@pytest.mark.parametrize("text", [
    "3f5a13812345678ab90c0d1e2f3a4b5c",  # digits inside a hex pseudonym
    "12812345678",                       # 12x is not a mobile prefix
    "1381234567", "138123456789",        # too short, too long
    "A13812345678", "13812345678Z",      # glued to letters
    "血压120/80 mmHg，体温36.5℃，心率88次/分",
])
def test_mobile_negatives(text):
    assert "mobile_phone" not in kinds(text)


@pytest.mark.parametrize("text,value", [("0571-88888888", "0571-88888888"), ("家里电话010-62345678", "010-62345678"),
                                        ("(021)6234567", "(021)6234567"), ("020 83456789", "020 83456789")])
def test_landline(text, value):
    assert found(text, "landline") == [value]


@pytest.mark.parametrize("text", ["0571-12345678", "20261101083000+0800 23456789", "01-11-2026", "v0.12.3456789"])
def test_landline_negatives(text):
    assert "landline" not in kinds(text)


def test_email():
    assert found("邮箱zhangwei90@163.com，", "email") == ["zhangwei90@163.com"]
    assert found("mail: li.na+icu@hospital.example.org", "email") == ["li.na+icu@hospital.example.org"]
    assert kinds("not@mail and @handle") == []


@pytest.mark.parametrize("text,value", [
    ("住院号：A1234567", "A1234567"), ("病案号12345678", "12345678"), ("MRN: 12345678", "12345678"),
    ("mrn 87654321", "87654321"),
    ("12345678^^^HIS&1.2.156.112604.1.2.1&ISO^MR", "12345678"),  # synthetic HIS PID-3 (8-digit MRN)
    ("12345678^^^HIS&1.2.156.112604.1.2.1&ISO^MR~110101199003077774^^^CHN&2.16.156.10011.1.3&ISO^NNCHN",
     "12345678"),
])
def test_mrn(text, value):
    assert found(text, "mrn") == [value]


def test_mrn_needs_context():
    assert "mrn" not in kinds("12345678")  # bare 8 digits: could be anything
    assert "mrn" not in kinds("26110100001^^^HIS&1.2.156.112604.1.2.1&ISO^VN")  # a visit number
    assert "mrn" not in kinds("住院号：12345")  # fewer than 6 digits


@pytest.mark.parametrize("text,value", [
    ("3301123456789012", "3301123456789012"),          # synthetic IN1-36: division code[:4] + 12 digits
    ("医保卡号：A12345678", "A12345678"), ("社保号 123456789", "123456789"),
    ("insurance no. 88776655", "88776655"),
])
def test_insurance(text, value):
    assert found(text, "insurance_number") == [value]


@pytest.mark.parametrize("text", ["9901123456789012", "33011234567890123", "310^职工基本医疗保险^99NHSA"])
def test_insurance_negatives(text):
    assert "insurance_number" not in kinds(text)


def test_configured_patterns():
    custom = configured(mrn=r"(?P<pre>(?:" + MRN_PREFIXES + r"|HN) *[:：#]? *)[0-9]{4,}")
    assert [s.kind for s in detect("HN 1234", detectors=custom)] == ["mrn"]
    assert detect("HN 1234") == []
    assert DETECTORS["mrn"] is not custom["mrn"]


@pytest.mark.parametrize("text,value", [
    ("2026-11-01", "2026-11-01"), ("2026/11/01", "2026/11/01"), ("2026.1.5", "2026.1.5"),
    ("于2026年11月1日入院", "2026年11月1日"), ("11月1日复查", "11月1日"), ("2026 年 1 月 5 号", "2026 年 1 月 5 号"),
    ("20261101", "20261101"), ("01.11.2026", "01.11.2026"), ("11/30/2026", "11/30/2026"),
    ("20261101083000+0800", "20261101083000"), ("2026-11-01T08:30:00+08:00", "2026-11-01"),
])
def test_date(text, value):
    assert found(text, "date") == [value]


@pytest.mark.parametrize("text", [
    "120/80", "36.5", "36.5℃", "5L/min", "2026-13-01", "20260230", "20261332", "31.31.2026",
    "1.2.156.112604.1.2.1",  # an OID
    "12345678901234567890",  # long digit runs are not dates
    "a20261101", "ab2026-11-01",
])
def test_date_negatives(text):
    assert "date" not in kinds(text)


def test_chinese_note():
    text = f"患者张伟，身份证{RIC}，家属电话{MOBILE}"
    assert detect(text) == [Span(2, 4, "chinese_name"), Span(8, 26, "resident_id"), Span(31, 42, "mobile_phone")]
    assert scrub(text) == "患者[NAME]，身份证[RESIDENT_ID]，家属电话[PHONE]"
    assert scrub(text, kinds=["resident_id", "mobile_phone"]) == "患者张伟，身份证[RESIDENT_ID]，家属电话[PHONE]"
    assert scrub(text, {"张伟": "[PATIENT]"}) == "患者[PATIENT]，身份证[RESIDENT_ID]，家属电话[PHONE]"


@pytest.mark.parametrize("text,value", [
    ("患者张伟夜间睡眠差", "张伟"), ("家属李娜（配偶）来电", "李娜"), ("核对身份：王芳，腕带一致", "王芳"),
    ("佩戴者周杰反馈手环松动", "周杰"), ("张^伟^^^^^L", "张^伟"), ("欧阳^小明^^^^^L", "欧阳^小明"),
    ("12345678^^^HIS^MR~李^娜", "李^娜"),
])
def test_chinese_name(text, value):
    assert found(text, "chinese_name") == [value]


@pytest.mark.parametrize("text", ["患者自诉头晕", "翻身拍背，皮肤完好", "北京市^东城区", "郑州市", "王^^^",
                                  "高血压", "周一复查"])
def test_chinese_name_negatives(text):
    assert "chinese_name" not in kinds(text)


def test_fullwidth_digits_are_found_and_offsets_kept():
    text = "电话：１３８１２３４５６７８。"
    assert detect(text) == [Span(3, 14, "mobile_phone")]
    assert scrub(text) == "电话：[PHONE]。"  # the fullwidth colon is left as written


def test_scrub_known_values_longest_first_and_separators():
    known = {"张伟": "[NAME]", "张": "[X]", MOBILE: "[PHONE]", "李娜": "[KIN]", "Zhang Wei": "[NAME]"}
    text = "张伟的电话138-1234-5678，家属李娜；ZHANG WEI；+86 138 1234 5678"
    assert scrub(text, known) == "[NAME]的电话[PHONE]，家属[KIN]；[NAME]；+86 [PHONE]"


def test_scrub_known_ids_respect_boundaries():
    assert scrub_known("MRN 12345678 and 112345678", {"12345678": "[MRN]"}) == "MRN [MRN] and 112345678"
    assert scrub_known("110101-19900307-7774", {RIC: "[RID]"}) == "[RID]"
    assert scrub_known("11010119900307109x", {"11010119900307109X": "[RID]"}) == "[RID]"
    assert scrub_known("nothing", {"": "[E]"}) == "nothing"


def test_kinds_selection_and_unknown_kind():
    text = f"{MOBILE} 2026-11-01"
    assert kinds(text, ["date"]) == ["date"]
    assert scrub(text, kinds=["mobile_phone"]) == "[PHONE] 2026-11-01"
    with pytest.raises(ValueError, match="unknown detector"):
        detect(text, ["nope"])


def test_overlaps_resolve_to_one_span():
    assert kinds(f"{MOBILE}@qq.com") == ["email"]
    assert kinds("住院号20261101") == ["mrn"]


def test_clean_texts():
    for text in ["", "翻身拍背，皮肤完好，无压疮，管路通畅。", "患者自诉头晕，血压偏低", "SpO2 97 %", "HR^Heart rate^MDC", "IHE_PCD_001"]:
        assert detect(text) == [] and scrub(text) == text

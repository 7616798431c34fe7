"""The free-text scrubber (deid/): each detector's positives and near-misses, known values in other
spellings, date shifting, whole-name replacement, and the evaluation's targets (which must be able to fail)."""

import json
import random

import pytest

from deid import KnownValues, detect, scrub
from deid.evalgen import Values
from deid.evaluation import evaluate, failures, load, score, vocabulary_untouched
from deid.kinds import klass


def kinds(text, known=None):
    return [(klass(s.kind), text[s.start:s.end]) for s in detect(text, known)]


def classes(text):
    return {c for c, _ in kinds(text)}


POSITIVES = [
    # names: cue words that are not "患者", compound, minority and rare surnames, pinyin, English
    ("主治医师聂海涛查房", "name", "聂海涛"), ("邻居闵晓燕来访", "name", "闵晓燕"), ("孙子王浩然陪同", "name", "王浩然"),
    ("闺蜜慕容雪送来", "name", "慕容雪"), ("外甥上官明探视", "name", "上官明"), ("婆婆司马兰有糖尿病", "name", "司马兰"),
    ("今天欧阳娜娜来看望", "name", "欧阳娜娜"), ("3床 欧阳娜娜 心率过高", "name", "欧阳娜娜"),
    ("扎西卓玛入院", "name", "扎西卓玛"), ("患者阿依古丽·买买提入院", "name", "阿依古丽·买买提"),
    ("护士长李娟娟交班", "name", "李娟娟"), ("聂医生查房", "name", "聂"), ("今日何翊萱医生换药", "name", "何翊萱"),
    ("seen by Zhang Wei today", "name", "Zhang Wei"), ("ZHUGE MING called", "name", "ZHUGE MING"),
    ("daughter Nana Ouyang", "name", "Nana Ouyang"), ("Wang Xiao-Ming visited", "name", "Wang Xiao-Ming"),
    ("reviewed by Dr. Smith", "name", "Smith"), ("next of kin Emily Carter", "name", "Emily Carter"),
    # identifiers
    ("身份证110105 1961 0512 1221", "identifier", "110105 1961 0512 1221"),
    ("ID 110105-19610512-1221.", "identifier", "110105-19610512-1221"),
    ("身份证１１０１０５１９６１０５１２１２２１", "identifier", "１１０１０５１９６１０５１２１２２１"),
    ("卡号6222 0210 0112 3456 789", "identifier", "6222 0210 0112 3456 789"),
    ("护照E12345678", "identifier", "E12345678"), ("港澳通行证C87654321", "identifier", "C87654321"),
    ("车牌京A12345", "identifier", "京A12345"), ("新能源粤BD12345", "identifier", "粤BD12345"),
    ("既往门诊号为MZ-2019-00123", "identifier", "MZ-2019-00123"), ("健康档案编号：1101050001234", "identifier", "1101050001234"),
    ("MRN 00912345", "identifier", "00912345"), ("复印件110105196105121221已存档", "identifier", "110105196105121221"),
    # contacts
    ("电话010-8888 6666", "contact", "010-8888 6666"), ("(010)8529-3366", "contact", "(010)8529-3366"),
    ("0755-2688 1234", "contact", "0755-2688 1234"), ("手机138.0013.8000", "contact", "138.0013.8000"),
    ("一三八〇〇一三八〇〇〇", "contact", "一三八〇〇一三八〇〇〇"), ("+86 10 6552 8899", "contact", "+86 10 6552 8899"),
    ("微信号 zw_19880512", "contact", "zw_19880512"), ("QQ 284756193", "contact", "284756193"),
    ("邮箱zhangwei(at)163.com", "contact", "zhangwei(at)163.com"), ("mail li#qq.com", "contact", "li#qq.com"),
    ("nana at qq dot com", "contact", "nana at qq dot com"), ("IP 192.168.10.23", "contact", "192.168.10.23"),
    ("from fe80::1ff:fe23:4567", "contact", "fe80::1ff:fe23:4567"),
    # places
    ("家住北京市朝阳区建国路88号院3号楼2单元402室", "address", "北京市朝阳区建国路88号院3号楼2单元402室"),
    ("居住在阳光小区5号楼3单元501", "address", "阳光小区5号楼3单元501"),
    ("在朝阳区劳动路社区卫生服务中心建档", "address", "朝阳区劳动路社区卫生服务中心"),
    ("就职于华为技术有限公司", "address", "华为技术有限公司"), ("就读于成都七中", "address", "成都七中"),
    ("lives at 42 Maple Street, Apt 3B", "address", "42 Maple Street, Apt 3B"),
    ("works at Sunrise Textile Company", "address", "Sunrise Textile Company"),
    # dates and ages
    ("二〇二五年二月五日入院", "date", "二〇二五年二月五日"), ("Jan 28, 2025", "date", "Jan 28, 2025"),
    ("2024年3月起", "date", "2024年3月"), ("01/28复查", "date", "01/28"), ("3/1拆线", "date", "3/1"),
    ("除夕夜发病", "date", "除夕"), ("周三晚上8点发热", "date", "周三"), ("二月十五日", "date", "二月十五日"),
    ("患者92岁", "age", "92岁"), ("九十七岁", "age", "九十七岁"), ("一百零二岁", "age", "一百零二岁"),
    ("a 95-year-old man", "age", "95-year-old"), ("aged 93", "age", "aged 93"),
]


@pytest.mark.parametrize("text,cls,value", POSITIVES)
def test_detector_positives(text, cls, value):
    assert (cls, value) in kinds(text) or any(c == cls and value in v for c, v in kinds(text)), kinds(text)


NEAR_MISSES = [
    "血压120/80mmHg，心率88次/分，体温36.5℃，SpO2 98%，3床",
    "口服阿司匹林100mg qd，1/2片，监护仪型号iPM12，呼吸机SV600，患者78岁，七十五岁",
    "高血压病史20年，白细胞12.3×10^9/L，常规护理，石膏固定，黄疸消退",
    "每周三次透析，每日一次，术后第3天，近3个月",
    "全科医生和医生沟通后，患者安静入睡，平稳，明日复查，已由值班医生解释",
    "转入我院ICU，来自当地医院，外院检查",
    "BP 140/90, HR 102, pain 3/10, 90 mL urine, age 76, bed 9, firmware v2.1.0.3",
    "Heart Rate 88, Blood Pressure normal, Long QT, He Long term plan",
    "Luhn-invalid 6222 0210 0112 3456 788 and 110101199003077777 (bad check digit)",
    "12812345678 is no mobile prefix; 3f5a13812345678ab90c0d1e2f3a4b5c is a pseudonym",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_untouched(text):
    assert kinds(text) == []


def test_known_values_in_other_spellings_and_no_fragments():
    known = KnownValues.build([("欧阳娜娜", "name"), ("张建", "name"), ("110105196105121221", "id"),
                               ("13800138000", "phone"), ("Li Na", "name")])
    text = ("OUYANG NANA, nana ouyang, Nana-Ouyang, 欧阳 娜娜；丈夫张建国来访；ID 110105 1961 0512 1221；"
            "电话一三八〇〇一三八〇〇〇；Li Na 与 lithium")
    out = scrub(text, known)
    for leaked in ("OUYANG", "nana", "Nana", "娜娜", "张建", "国来访".replace("来访", "") + "[", "1223", "〇〇〇"):
        assert leaked not in out, out
    assert "丈夫[NAME]来访" in out  # the whole 张建国, not [NAME]国
    assert "lithium" in out  # li inside a longer token is not a name


def test_known_values_never_replace_inside_a_longer_ascii_token():
    known = KnownValues.build([("Li Na", "name"), ("ABC123", "id")])
    assert scrub("Linan and XABC1234 stay", known) == "Linan and XABC1234 stay"


def test_dates_shift_by_the_patients_offset():
    assert scrub("二〇二五年二月五日入院", shift_days=10) == "[DATE 2025-02-15]入院"
    assert scrub("Admitted Jan 28, 2025.", shift_days=-28) == "Admitted [DATE 2024-12-31]."
    assert scrub("复查3/1", shift_days=1) == "复查[DATE --03-02]"
    assert scrub("2024年3月起", shift_days=5) == "[DATE]起"  # a month alone does not parse to a day
    assert scrub("二〇二五年二月五日", shift_days=None) == "[DATE]"


def test_typed_tags():
    out = scrub("患者欧阳娜娜，92岁，身份证110105196105121221，手机13800138000，家住北京市朝阳区建国路88号，"
                "就职于华为技术有限公司，车牌京A12345，2025年1月28日入院")
    for tag in ("[NAME]", "[AGE90+]", "[ID]", "[PHONE]", "[ADDRESS]", "[ORG]", "[PLATE]", "[DATE]"):
        assert tag in out, out


def test_planted_values_in_random_clinical_text_are_removed():
    """Values from the evaluation generator at random places of clinical sentences it never combined."""
    rng = random.Random(20261202)
    values = Values(rng)
    carriers = ["患者今日{}，血压130/80mmHg，继续观察。", "{} 心率过高 HR 140", "Contact: {}; BP 120/70.",
                "家属留下{}后离开", "已电话联系{}，告知病情"]
    makers = [values.resident_id, values.mobile, values.landline, values.card, values.email, values.ip,
              values.passport, values.plate]
    for _ in range(300):
        value = rng.choice(makers)()
        text = rng.choice(carriers).format(value)
        out = scrub(text)
        digits = "".join(c for c in value if c.isdigit())
        assert value not in out and (len(digits) < 4 or digits[-4:] not in "".join(c for c in out if c.isdigit()))


def test_evaluation_set_size_and_targets():
    rows = load("all")
    assert len(rows) >= 600 and {r["lang"] for r in rows} == {"zh", "en"}
    assert {r["genre"] for r in rows} == {"nursing", "discharge", "alarm", "wearable"}
    result = evaluate("all", presidio=False)
    assert result["failures"] == [], result["failures"]
    assert result["splits"]["heldout-fresh"]["wardflow"]["sentences"] == 320


def test_the_target_check_fails_for_a_scrubber_that_misses():
    """Every blocking check fails once on purpose: a scrubber blind to names fails the name target."""
    rows = load("dev")
    blind = score(rows, lambda text: [])
    result = {"splits": {"dev": {"wardflow": blind}}, "clinical_vocabulary": {"rate": 1.0}}
    assert any("name recall" in f for f in failures(result))
    eager = vocabulary_untouched(["高血压", "阿司匹林"], scrub_fn=lambda text: "[REDACTED]")
    assert eager["rate"] == 0.0


def test_resident_id_check_agrees_with_stdnum():
    """Oracle: the check-digit test accepts exactly what python-stdnum accepts (birth-place table aside)."""
    from stdnum.cn import ric

    from deid.numbers import ric_valid

    rng = random.Random(5)
    for _ in range(300):
        body = "110105" + f"{rng.randint(1930, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        for check in "0123456789X":
            assert ric_valid(body + check) == ric.is_valid(body + check)


def test_deid_depends_on_nothing_of_the_pipeline():
    """deid/ is a library: no import of orchestration, connectors, expectations or dbt may creep in."""
    import ast
    from pathlib import Path

    import deid

    for path in Path(deid.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] in {"orchestration", "connectors", "expectations", "dbt",
                                                                 "dagster", "dagster_dbt"}], path.name


def test_the_blind_split_is_reported_apart_and_its_pools_are_new():
    """The blind split is scored and shown, never gated; its values come from pools the tuned generator lacks."""
    from deid import evalblind, evalgen

    result = evaluate("blind", presidio=False)
    assert result["splits"]["blind"]["wardflow"]["sentences"] == len(evalblind.load()) == 300
    assert result["failures"] == []  # whatever the blind split scores, it does not gate
    assert all(f.startswith("blind:") for f in result["blind_below_target"])
    assert not set(evalblind.SURNAMES) & set(evalgen.SURNAMES)
    assert not set(evalblind.GIVEN) & set(evalgen.GIVEN)
    assert not set(evalblind.COMPOUND) & set(evalgen.COMPOUND)
    assert not set(evalblind.EN_FIRST + evalblind.EN_LAST) & set(evalgen.EN_FIRST + evalgen.EN_LAST)
    shipped = json.loads(json.dumps(evalblind.generate(count=300)))
    assert shipped == evalblind.load()  # the shipped file is what the generator writes

"""The seeded generator of the evaluation set (deid/data/eval_generated.jsonl).

Sentences are written with inline markup ``[[class:value]]``; the class is one of deid.kinds.CLASSES.
Two splits use different templates and seeds: ``dev`` (what the detectors may be tuned on) and
``heldout`` (never looked at while tuning). Value pools are drawn fresh per sentence: surnames from a
broad list, given-name characters from a pool that is NOT the detectors' list, numbers valid by their
check digits. Run ``python -m deid.evalgen`` to rewrite the shipped file.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric

from deid.evaltemplates import TEMPLATES

OUT = Path(__file__).parent / "data" / "eval_generated.jsonl"
MARK = re.compile(r"\[\[(\w+):(.*?)\]\]")
SURNAMES = ("王李张刘陈杨赵吴周徐孙朱胡郭何罗郑梁谢宋唐许韩冯邓曹彭曾肖董袁潘蒋蔡杜叶程魏吕丁沈姚卢姜崔钟谭陆"
            "汪范廖贾韦傅邹孟熊秦邱尹薛闫段雷侯黎贺顾郝龚邵钱严覃戴孔汤聂闵仝亓郇訾佴芮邝冼")
COMPOUND = ("欧阳", "司马", "诸葛", "上官", "慕容", "皇甫", "尉迟", "令狐", "夏侯", "公孙", "端木", "司徒")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超霞平刚辉鹏斌宇浩凯健俊帆旭宁琳婷雪倩萍燕丹莉颖晶慧雅玲瑶晓春海峰波宏鑫博" \
        "志庆东荣新云德昌永光振祥亮彬嘉琪萱涵轩梓睿泽晨思雨馨悦彧芃骁翊珩昀玥璟柘焱淼喆堃珅燚琨璠鋆濛滢筠"
MINORITY = ("扎西卓玛", "次仁多吉", "格桑央金", "达瓦次仁", "阿依古丽·买买提", "买买提·艾力", "巴特尔", "斯琴高娃",
            "其其格", "德吉拉姆")
EN_FIRST = ("Emily", "James", "Olivia", "Henry", "Grace", "Daniel", "Chloe", "Samuel", "Hannah", "Lucas", "Mia",
            "Ethan", "Sophie", "Owen", "Ruby", "Isaac")
EN_LAST = ("Carter", "Hughes", "Bennett", "Foster", "Morgan", "Reid", "Walsh", "Fletcher", "Barnes", "Sutton",
           "Holland", "Pierce", "Lawson", "Whitaker")
CITIES = ("北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "杭州市西湖区", "成都市武侯区", "武汉市洪山区",
          "南京市鼓楼区", "西安市雁塔区", "重庆市渝中区", "天津市南开区", "长沙市岳麓区")
ROADS = ("建国路", "学院路", "中山路", "解放大街", "人民大道", "长安街", "文一西路", "科技园南路", "望京街", "东风巷")
COMPOUNDS = ("阳光小区", "翠苑新村", "锦绣家园", "金色花园", "华府公寓", "丽都花园", "东湖小区")
ORG_WORDS = ("朝阳区劳动路社区卫生服务中心", "海淀区第三中学", "浦东新区实验小学", "红星纺织厂", "华为技术有限公司",
             "西湖区文新街道社区卫生服务中心", "天河区第二幼儿园", "南京大学", "长沙市第一中学", "蓝天机械厂",
             "岳麓区望月湖社区卫生服务站", "成都七中")
EN_ORGS = ("Riverside High School", "Sunrise Textile Company", "Greenfield Community Health Centre",
           "Northbridge University", "Harbor Logistics Ltd", "Maple Leaf Kindergarten")
EN_STREETS = ("Maple Street", "Oak Avenue", "Jianguo Road", "Harbour Road", "Elm Lane", "Queen's Road")
HOLIDAYS = ("除夕", "春节", "元旦", "中秋节", "国庆节", "端午节", "大年初一", "元宵节", "Christmas", "New Year's Day")
WEEK_CN = ("周一", "周二", "周三", "周四", "周五", "周六", "周日", "星期三", "星期天")
WEEK_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = ("Jan", "Feb", "March", "Apr", "May", "June", "July", "Aug", "Sept", "October", "Nov", "December")
CN_DIGITS = "〇一二三四五六七八九"
AREA = ("010", "021", "020", "0755", "0571", "028", "027", "025", "029", "023")
MOBILE_PREFIX = ("138", "139", "135", "136", "137", "150", "151", "152", "158", "159", "182", "183", "187", "188",
                 "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "177", "199")
PROVINCE_CODES = ("110105", "310115", "440106", "440305", "330106", "510107", "420111", "320106", "610113", "500103")


def cn_digits(s: str) -> str:
    return "".join(CN_DIGITS[int(c)] if c.isdigit() else c for c in s)


def cn_number(n: int) -> str:
    """1..31 and 90..120 in Chinese numerals (十, 二十五, 九十七, 一百零二)."""
    units = "零一二三四五六七八九"
    if n >= 100:
        rest = n - 100
        if rest == 0:
            return "一百"
        return "一百零" + units[rest] if rest < 10 else "一百" + cn_number(rest)
    if n < 10:
        return units[n]
    tens, unit = divmod(n, 10)
    return ("" if tens == 1 else units[tens]) + "十" + (units[unit] if unit else "")


class Values:
    """Random values of each kind, drawn from one seeded generator."""

    def __init__(self, rng: random.Random):
        self.r = rng

    def cn_name(self) -> str:
        r = self.r
        if r.random() < 0.08:
            return r.choice(MINORITY)
        surname = r.choice(COMPOUND) if r.random() < 0.2 else r.choice(SURNAMES)
        return surname + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2, 2))))

    def py_name(self) -> str:
        from pypinyin import lazy_pinyin

        r = self.r
        surname = r.choice(COMPOUND) if r.random() < 0.25 else r.choice(SURNAMES)
        given = "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2))))
        fam = "".join(lazy_pinyin(surname)).replace("ü", "v")
        giv = "".join(lazy_pinyin(given)).replace("ü", "v")
        style = r.randrange(4)
        if style == 0:
            return f"{fam.title()} {giv.title()}"
        if style == 1:
            return f"{fam.upper()} {giv.upper()}"
        if style == 2:
            return f"{giv.title()} {fam.title()}"
        syl = lazy_pinyin(given)
        return f"{fam.title()} " + "-".join(s.title() if k == 0 else s for k, s in enumerate(syl))

    def en_name(self) -> str:
        return self.r.choice(EN_FIRST) + " " + self.r.choice(EN_LAST)

    def resident_id(self) -> str:
        r = self.r
        body = r.choice(PROVINCE_CODES) + f"{r.randint(1925, 2010)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}" \
            + f"{r.randint(0, 999):03d}"
        value = body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
        style = r.randrange(5)
        if style == 1:
            return f"{value[:6]} {value[6:10]} {value[10:14]} {value[14:]}"
        if style == 2:
            return f"{value[:6]}-{value[6:14]}-{value[14:]}"
        if style == 3:
            return value.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
        return value

    def mobile(self) -> str:
        r = self.r
        d = r.choice(MOBILE_PREFIX) + "".join(str(r.randint(0, 9)) for _ in range(8))
        style = r.randrange(6)
        return (d, f"{d[:3]} {d[3:7]} {d[7:]}", f"{d[:3]}-{d[3:7]}-{d[7:]}", f"{d[:3]}.{d[3:7]}.{d[7:]}",
                "+86 " + d, cn_digits(d))[style]

    def landline(self) -> str:
        r = self.r
        area = r.choice(AREA)
        local = str(r.randint(2, 8)) + "".join(str(r.randint(0, 9)) for _ in range(7))
        style = r.randrange(5)
        return (f"{area}-{local}", f"{area}-{local[:4]} {local[4:]}", f"({area}){local[:4]}-{local[4:]}",
                f"{area} {local[:4]} {local[4:]}", f"+86 {area[1:]} {local}")[style]

    def card(self) -> str:
        r = self.r
        length = r.choice((16, 19))
        prefix = r.choice(("62", "4", "5"))
        body = prefix + "".join(str(r.randint(0, 9)) for _ in range(length - 1 - len(prefix)))
        value = body + luhn.calc_check_digit(body)
        return " ".join(value[k:k + 4] for k in range(0, len(value), 4)) if r.random() < 0.5 else value

    def passport(self) -> str:
        return self.r.choice("EG") + "".join(str(self.r.randint(0, 9)) for _ in range(8))

    def permit(self) -> str:
        r = self.r
        return r.choice(("C", "H", "M")) + "".join(str(r.randint(0, 9)) for _ in range(8))

    def plate(self) -> str:
        r = self.r
        province = r.choice("京沪粤浙苏川鄂湘津渝")
        letter = r.choice("ABCDEFGHJK")
        if r.random() < 0.35:
            return f"{province}{letter}{r.choice('DF')}{r.randint(10000, 99999)}"
        return f"{province}{letter}{r.randint(10000, 99999)}" if r.random() < 0.6 else f"{province}{letter}·{r.randint(10000, 99999)}"

    def wechat(self) -> str:
        r = self.r
        return r.choice(("wx_", "zw", "li", "nana", "happy")) + "".join(r.choice("abcdefghk0123456789_") for _ in range(7))

    def qq(self) -> str:
        return str(self.r.randint(10000, 9999999999))

    def email(self) -> str:
        r = self.r
        user = r.choice(("zhangwei", "lina88", "nana.ouyang", "wang_fang", "emily.carter", "hz2024"))
        host = r.choice(("163.com", "qq.com", "126.com", "gmail.com", "sina.cn", "hospital.org.cn"))
        style = r.randrange(5)
        return (f"{user}@{host}", f"{user}(at){host}", f"{user}[at]{host}", f"{user}#{host}",
                f"{user} at {host.replace('.', ' dot ')}")[style]

    def ip(self) -> str:
        r = self.r
        if r.random() < 0.15:
            return f"fe80::{r.randint(1, 9999):x}:{r.randint(1, 9999):x}"
        return ".".join(str(r.randint(1, 254)) for _ in range(4))

    def record(self) -> str:
        r = self.r
        style = r.randrange(4)
        n = "".join(str(r.randint(0, 9)) for _ in range(r.randint(6, 10)))
        return (n, f"MZ-{r.randint(2015, 2025)}-{n[:5]}", f"ZY{n}", f"{n[:4]}-{n[4:]}")[style]

    def address_cn(self) -> str:
        r = self.r
        if r.random() < 0.4:
            return f"{r.choice(CITIES)}{r.choice(COMPOUNDS)}{r.randint(1, 30)}号楼{r.randint(1, 6)}单元{r.randint(101, 2502)}室"
        return f"{r.choice(CITIES)}{r.choice(ROADS)}{r.randint(1, 300)}号院{r.randint(1, 20)}号楼{r.randint(1, 6)}单元{r.randint(101, 1802)}室"

    def address_en(self) -> str:
        r = self.r
        street = f"{r.randint(1, 999)} {r.choice(EN_STREETS)}"
        return street + (f", Apt {r.randint(1, 30)}{r.choice('ABC')}" if r.random() < 0.5 else "")

    def org_cn(self) -> str:
        return self.r.choice(ORG_WORDS)

    def org_en(self) -> str:
        return self.r.choice(EN_ORGS)

    def date_cn(self) -> str:
        r = self.r
        y, m, d = r.randint(2015, 2026), r.randint(1, 12), r.randint(1, 28)
        style = r.randrange(9)
        return (f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}年{m}月{d}日", cn_digits(str(y)) + f"年{cn_number(m)}月{cn_number(d)}日",
                f"{y}年{m}月", f"{m}月{d}日", f"{m:02d}/{d:02d}", f"{m}/{d}", f"{y}.{m:02d}.{d:02d}")[style]

    def date_en(self) -> str:
        r = self.r
        y, m, d = r.randint(2015, 2026), r.randrange(12), r.randint(1, 28)
        style = r.randrange(5)
        return (f"{MONTHS_EN[m]} {d}, {y}", f"{d} {MONTHS_EN[m]} {y}", f"{MONTHS_EN[m]} {y}",
                f"{y}-{m + 1:02d}-{d:02d}", f"{MONTHS_EN[m]} {d}")[style]

    def holiday(self) -> str:
        return self.r.choice(HOLIDAYS)

    def weekday_cn(self) -> str:
        return self.r.choice(WEEK_CN)

    def weekday_en(self) -> str:
        return self.r.choice(WEEK_EN)

    def age(self) -> str:
        r = self.r
        n = r.randint(90, 106)
        style = r.randrange(3)
        return (f"{n}岁", f"{cn_number(n)}岁", f"{n}周岁")[style]

    def age_en(self) -> str:
        n = self.r.randint(90, 104)
        return self.r.choice((f"{n}-year-old", f"{n} years old", f"aged {n}", f"{n} y/o"))


SLOT = re.compile(r"\{(\w+)\}")
CLASS_OF = {"cn_name": "name", "py_name": "name", "en_name": "name", "resident_id": "identifier",
            "card": "identifier", "passport": "identifier", "permit": "identifier", "plate": "identifier",
            "record": "identifier", "mobile": "contact", "landline": "contact", "wechat": "contact", "qq": "contact",
            "email": "contact", "ip": "contact", "address_cn": "address", "address_en": "address",
            "org_cn": "address", "org_en": "address", "date_cn": "date", "date_en": "date", "holiday": "date",
            "weekday_cn": "date", "weekday_en": "date", "age": "age", "age_en": "age"}


def fill(template: str, values: Values) -> str:
    """A template with ``{slot}`` → a sentence in markup, each value wrapped as ``[[class:value]]``."""
    return SLOT.sub(lambda m: f"[[{CLASS_OF[m.group(1)]}:{getattr(values, m.group(1))()}]]", template)


def parse(markup: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Markup → (text, spans)."""
    text, spans, last = [], [], 0
    pos = 0
    for m in MARK.finditer(markup):
        text.append(markup[last:m.start()])
        pos += m.start() - last
        spans.append((pos, pos + len(m.group(2)), m.group(1)))
        text.append(m.group(2))
        pos += len(m.group(2))
        last = m.end()
    text.append(markup[last:])
    return "".join(text), spans


def generate(split: str, seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible test set, not a secret
    values = Values(rng)
    out = []
    templates = TEMPLATES[split]
    for k in range(count):
        lang, genre, template = templates[k % len(templates)]
        text, spans = parse(fill(template, values))
        out.append({"id": f"{split}-{k:04d}", "split": split, "lang": lang, "genre": genre, "text": text,
                    "spans": spans})
    return out


def main() -> None:
    rows = generate("dev", 13, 520) + generate("heldout", 1313, 320)
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

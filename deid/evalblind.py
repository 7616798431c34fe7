"""The blind split of the evaluation set (deid/data/eval_blind.jsonl): templates and value pools written
after the detectors were tuned and never used to tune them. Surnames, given-name characters, English names,
places and organisations are drawn from pools disjoint from the dev/held-out generator's, and values are
written in spellings that generator does not produce (lower-case check letter, dotted IDs, ``(+86)`` mobiles,
``转`` extensions, fullwidth ``＠``, ``[dot]`` e-mail, US and European dates, ``二零`` years…).

Rule kept by whoever edits the detectors: misses on this split are reported, not fixed against it; a new
blind split (new seed, new templates) replaces it once it has been looked at. Run ``python -m deid.evalblind``
to rewrite the shipped file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from stdnum import luhn

from deid.evalgen import Values, cn_digits, cn_number, fill, parse

OUT = Path(__file__).parent / "data" / "eval_blind.jsonl"
SEED = 20261202
SURNAMES = ("柏窦章苏葛奚郎鲁苗凤俞任柳鲍史费廉岑滕殷毕邬常乐皮卞齐康伍卜萧湛祁毛禹狄米贝臧计伏谈茅庞纪舒屈项"
            "祝阮蓝席季麻路娄危童颜梅盛林刁骆夏田樊凌霍虞支柯管莫房裘缪解宗宣贲郁单杭洪包左石吉钮嵇邢滑裴荣翁荀"
            "甄封储靳汲邴糜松井富巫焦巴弓牧谷车宓蓬全郗班仰秋仲伊宫宁仇栾甘厉戎祖武符景詹束龙幸司韶郜蓟薄印宿白"
            "怀蒲邰索赖卓蔺屠蒙池乔胥苍双闻党翟贡劳逄姬申扶堵冉宰郦雍桑桂濮牛寿边扈燕冀浦尚农温庄晏柴瞿慕连茹习"
            "宦艾容向古易戈庾暨衡步耿满匡寇禄阙殳沃蔚隆师巩厍晁敖融冷辛阚简饶沙鞠丰巢关蒯查荆游竺权逯盖桓")
COMPOUND = ("东方", "宇文", "长孙", "独孤", "南宫", "西门", "呼延", "赫连", "拓跋", "钟离", "淳于", "百里")
GIVEN = ("桦栎榆楷榕浚淳渝湘漪澄瀚炅烁焘熠燊琛琮瑭璞瓒畅皓睦砚祎禾秉穆笙筱纾绮缙羚翌翎苒茗荻莞菁蔓蕴薏虹蝶裕"
         "觅誉谦贤赟轶辰迪郡钧铎锋镕闰阑陌隽雯霁霖靖韬颢飒馥骞鲲麟黛")
MINORITY = ("强巴次仁", "洛桑丹增", "其木格", "乌兰图雅", "热依拉·吐尔逊", "帕提古丽", "那日苏", "才让卓玛", "阿旺晋美",
            "古丽娜尔")
EN_FIRST = ("Nathan", "Zoe", "Leah", "Caleb", "Ivy", "Felix", "Nora", "Miles", "Hazel", "Theo", "Maya", "Jude")
EN_LAST = ("Kowalski", "Okafor", "Nguyen", "Fitzgerald", "Ramirez", "Larsen", "O'Brien", "McAllister", "Dubois",
           "Harrington", "Abernathy", "Lindqvist")
CITIES = ("苏州市姑苏区", "青岛市市南区", "厦门市思明区", "昆明市五华区", "郑州市金水区", "沈阳市和平区", "合肥市蜀山区",
          "福州市鼓楼区")
ROADS = ("观前街", "香港中路", "龙头路", "翠湖南路", "花园路", "中华北大街", "长江西路", "五四路")
COMPOUNDS = ("碧水湾小区", "紫荆花园", "金桥家园", "望湖公寓", "枫林新村", "书香苑")
ORGS = ("思明区中华街道社区卫生服务中心", "青岛第二中学", "金水区实验小学", "昆明钢铁集团", "厦门大学",
        "五华区莲华街道社区卫生服务站", "蜀山区第一幼儿园", "和平区南京街小学", "福州一中", "姑苏区双塔街道卫生院")
EN_ORGS = ("Lakeside Primary School", "Westbrook Nursing Home", "Pacific Freight Company", "St Mary's Hospital",
           "Oakridge Community Health Center", "Bayview Institute")
EN_STREETS = ("Birch Road", "Willow Drive", "Kings Road", "Nathan Road", "Cedar Court", "Station Lane")
HOLIDAYS = ("腊八", "小年", "七夕", "重阳节", "清明节", "劳动节", "Boxing Day", "Easter", "Thanksgiving")
WEEK_CN = ("礼拜三", "礼拜天", "星期五", "周六")
WEEK_EN = ("Thursday", "Saturday", "Monday")
MONTHS_EN = ("January", "February", "Mar", "April", "May", "Jun", "Jul", "August", "September", "Oct", "November",
             "Dec")
AREA = ("0512", "0532", "0592", "0871", "0371", "024", "0551", "0591")
CN_ZERO = str.maketrans("〇", "零")


class BlindValues(Values):
    """Values from the blind pools, in spellings the dev/held-out generator does not write."""

    def cn_name(self) -> str:
        r = self.r
        if r.random() < 0.1:
            return r.choice(MINORITY)
        surname = r.choice(COMPOUND) if r.random() < 0.15 else r.choice(SURNAMES)
        return surname + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def py_name(self) -> str:
        from pypinyin import lazy_pinyin

        r = self.r
        surname = r.choice(COMPOUND) if r.random() < 0.2 else r.choice(SURNAMES)
        syl = lazy_pinyin("".join(r.choice(GIVEN) for _ in range(r.choice((1, 2)))))
        fam = "".join(lazy_pinyin(surname)).replace("ü", "v")
        giv = "".join(syl).replace("ü", "v")
        style = r.randrange(3)
        if style == 0:
            return f"{fam} {giv}"  # lower case
        if style == 1:
            return f"{fam.upper()} {giv.title()}"
        return f"{giv.title()} {fam.upper()}"

    def en_name(self) -> str:
        r = self.r
        first, last = r.choice(EN_FIRST), r.choice(EN_LAST)
        return (f"{first} {last}", f"{first} {r.choice('JKLMR')}. {last}", f"{first[0]}. {last}")[r.randrange(3)]

    def resident_id(self) -> str:
        value = super().resident_id().replace(" ", "").replace("-", "")
        style = self.r.randrange(3)
        if style == 0:
            return value.lower()
        if style == 1:
            return f"{value[:6]}.{value[6:14]}.{value[14:]}"
        return f"{value[:3]} {value[3:6]} {value[6:10]} {value[10:14]} {value[14:]}"

    def mobile(self) -> str:
        r = self.r
        d = "1" + r.choice("3456789") + "".join(str(r.randint(0, 9)) for _ in range(9))
        return (f"(+86){d}", f"+86-{d[:3]}-{d[3:7]}-{d[7:]}", f"0086 {d}", cn_digits(d).translate(CN_ZERO),
                f"{d[:3]}　{d[3:7]}　{d[7:]}")[r.randrange(5)]

    def landline(self) -> str:
        r = self.r
        area = r.choice(AREA)
        local = str(r.randint(2, 8)) + "".join(str(r.randint(0, 9)) for _ in range(7 if len(area) == 3 else 6))
        return (f"({area}) {local[:4]}-{local[4:]}", f"{area}-{local}转{r.randint(100, 899)}",
                f"86-{area[1:]}-{local}", f"{area}—{local}")[r.randrange(4)]

    def card(self) -> str:
        r = self.r
        body = "62" + "".join(str(r.randint(0, 9)) for _ in range(15))
        value = body + luhn.calc_check_digit(body)
        return "-".join(value[k:k + 4] for k in range(0, len(value), 4)) if r.random() < 0.5 else value

    def passport(self) -> str:
        r = self.r
        return "E" + r.choice("ABCDEFGH") + "".join(str(r.randint(0, 9)) for _ in range(7))

    def permit(self) -> str:
        return "H" + "".join(str(self.r.randint(0, 9)) for _ in range(10))

    def plate(self) -> str:
        r = self.r
        return r.choice(("苏E·", "浙A", "闽D", "鲁B")) + r.choice("DF") + str(r.randint(10000, 99999))

    def email(self) -> str:
        r = self.r
        user = r.choice(("caleb.n", "xiaoyu_99", "mlarsen", "kang.lin", "hz_nurse"))
        host = r.choice(("outlook.com", "163.net", "foxmail.com", "yahoo.co.uk"))
        return (f"{user}＠{host}", f"{user} [at] {host.replace('.', ' [dot] ')}", f"{user} AT {host}",
                f"{user}@{host}")[r.randrange(4)]

    def record(self) -> str:
        r = self.r
        n = "".join(str(r.randint(0, 9)) for _ in range(r.randint(6, 9)))
        return (f"ZY-{r.randint(2019, 2026)}-{n}", f"H{n}", f"{n[:3]} {n[3:]}", f"MR{n}")[r.randrange(4)]

    def address_cn(self) -> str:
        r = self.r
        if r.random() < 0.5:
            return f"{r.choice(CITIES)}{r.choice(ROADS)}{r.randint(1, 300)}弄{r.randint(1, 40)}号{r.randint(101, 1202)}室"
        return f"{r.choice(CITIES)}{r.choice(COMPOUNDS)}{r.randint(1, 20)}栋{r.randint(1, 3)}单元{r.randint(2, 30)}楼{r.randint(1, 4)}号"

    def address_en(self) -> str:
        r = self.r
        return f"Flat {r.randint(1, 20)}{r.choice('ABCD')}, {r.randint(1, 400)} {r.choice(EN_STREETS)}"

    def org_cn(self) -> str:
        return self.r.choice(ORGS)

    def org_en(self) -> str:
        return self.r.choice(EN_ORGS)

    def date_cn(self) -> str:
        r = self.r
        y, m, d = r.randint(2016, 2026), r.randint(1, 12), r.randint(1, 28)
        year_cn = cn_digits(str(y)).translate(CN_ZERO)
        return (f"{y}年{m:02d}月{d:02d}日", f"{y}.{m}.{d}", f"{year_cn}年{cn_number(m)}月{cn_number(d)}号",
                f"{y}年{m}月{d}号", f"{d:02d}.{m:02d}.{y}", f"{m}月份{d}日")[r.randrange(6)]

    def date_en(self) -> str:
        r = self.r
        y, m, d = r.randint(2016, 2026), r.randrange(12), r.randint(1, 28)
        return (f"{d}th of {MONTHS_EN[m]} {y}", f"{m + 1:02d}/{d:02d}/{y}", f"{MONTHS_EN[m]}. {d}",
                f"{MONTHS_EN[m]} {d}th, {y}")[r.randrange(4)]

    def holiday(self) -> str:
        return self.r.choice(HOLIDAYS)

    def weekday_cn(self) -> str:
        return self.r.choice(WEEK_CN)

    def weekday_en(self) -> str:
        return self.r.choice(WEEK_EN)

    def age(self) -> str:
        n = self.r.randint(90, 108)
        return (f"{n} 岁", f"{cn_number(n)}周岁", f"年龄{n}")[self.r.randrange(3)]

    def age_en(self) -> str:
        n = self.r.randint(90, 103)
        return self.r.choice((f"{n}-yr-old", f"age: {n}", f"{n} yrs old", f"{n}yo"))


def generate(seed: int = SEED, count: int = 300) -> list[dict]:
    from deid.evaltemplates import BLIND

    values = BlindValues(random.Random(seed))  # noqa: S311 - a reproducible test set, not a secret
    out = []
    for k in range(count):
        lang, genre, template = BLIND[k % len(BLIND)]
        text, spans = parse(fill(template, values))
        out.append({"id": f"blind-{k:04d}", "split": "blind", "lang": lang, "genre": genre, "text": text,
                    "spans": spans})
    return out


def load() -> list[dict]:
    return [json.loads(line) for line in OUT.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    with OUT.open("w", encoding="utf-8") as f:
        for row in generate():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

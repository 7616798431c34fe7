"""Synthetic Chinese patients: names, sex, birth date, resident ID, contacts, next of kin, insurance.

Every value is drawn from a seeded ``random.Random``; nothing refers to a real person. A ``Person``
is one patient as the hospital registered them at admission (one row per patient).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from .regions import REGIONS, Region, make_ric

# (family name, pinyin, relative frequency in percent); the last rows are two-character names.
# fmt: off
FAMILY_NAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4), ("陈", "chen", 4.5),
    ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.0), ("吴", "wu", 2.0), ("周", "zhou", 1.9),
    ("徐", "xu", 1.5), ("孙", "sun", 1.5), ("马", "ma", 1.3), ("朱", "zhu", 1.3), ("胡", "hu", 1.2),
    ("郭", "guo", 1.2), ("何", "he", 1.0), ("高", "gao", 1.0), ("林", "lin", 1.0), ("罗", "luo", 0.9),
    ("郑", "zheng", 0.9), ("梁", "liang", 0.8), ("谢", "xie", 0.7), ("宋", "song", 0.7), ("唐", "tang", 0.7),
    ("许", "xu", 0.6), ("韩", "han", 0.6), ("冯", "feng", 0.6), ("邓", "deng", 0.6), ("曹", "cao", 0.5),
    ("彭", "peng", 0.5), ("曾", "zeng", 0.5), ("肖", "xiao", 0.5), ("田", "tian", 0.5), ("董", "dong", 0.5),
    ("袁", "yuan", 0.4), ("潘", "pan", 0.4), ("蒋", "jiang", 0.4), ("蔡", "cai", 0.4), ("叶", "ye", 0.4),
    ("欧阳", "ouyang", 0.08), ("司马", "sima", 0.03), ("诸葛", "zhuge", 0.02), ("上官", "shangguan", 0.02),
)
# fmt: on
_FAMILY_WEIGHTS = tuple(w for _, _, w in FAMILY_NAMES)

_MALE = (
    "伟wei 强qiang 磊lei 军jun 勇yong 杰jie 涛tao 明ming 超chao 刚gang 平ping 辉hui 鹏peng 华hua "
    "飞fei 鑫xin 波bo 斌bin 宇yu 浩hao 凯kai 健jian 俊jun 志zhi 国guo 建jian 文wen 东dong 海hai 成cheng "
    "林lin 峰feng 博bo 轩xuan 德de 荣rong"
)
_FEMALE = (
    "芳fang 娜na 敏min 静jing 丽li 艳yan 娟juan 霞xia 秀xiu 英ying 玲ling 燕yan 红hong 梅mei 婷ting "
    "雪xue 琳lin 晶jing 欣xin 怡yi 慧hui 佳jia 颖ying 萍ping 兰lan 云yun 倩qian 涵han 琪qi 桂gui"
)


def _pool(spec: str) -> tuple[tuple[str, str], ...]:
    return tuple((item[0], item[1:]) for item in spec.split())


GIVEN_CHARS = {"M": _pool(_MALE), "F": _pool(_FEMALE)}

# (lowest age, highest age, weight): an ICU-heavy age mix with some patients older than 89.
_AGE_BANDS = ((0, 0, 2), (1, 14, 4), (15, 39, 14), (40, 64, 32), (65, 89, 38), (90, 100, 10))
_MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 155 157 158 159 170 176 177 "
    "180 181 182 183 186 187 188 189 191 198 199"
).split()
_MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com")
INSURANCE_PLANS = (("310", "职工基本医疗保险"), ("390", "城乡居民基本医疗保险"))


@dataclass(frozen=True)
class Kin:
    """Next of kin: name, HL7 table 0063 relationship code and Chinese label, mobile number."""

    family: str
    given: str
    relation: str
    relation_text: str
    phone: str


@dataclass(frozen=True)
class Person:
    """One synthetic patient as registered in the HIS; ``index`` is the generation order."""

    index: int
    mrn: str
    ric: str
    family: str
    given: str
    pinyin: str
    sex: str
    birth_date: date
    region: Region
    street: str
    mobile: str
    landline: str | None
    email: str | None
    kin: Kin
    insurance: tuple[str, str, str] | None

    @property
    def name(self) -> str:
        return self.family + self.given

    def age_on(self, day: date) -> int:
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)


def pick_family(rng: random.Random) -> tuple[str, str]:
    family, pinyin, _ = rng.choices(FAMILY_NAMES, weights=_FAMILY_WEIGHTS)[0]
    return family, pinyin


def pick_given(rng: random.Random, sex: str) -> tuple[str, str]:
    """A one- or two-character given name and its pinyin."""
    chars = [rng.choice(GIVEN_CHARS[sex]) for _ in range(1 if rng.random() < 0.35 else 2)]
    return "".join(c for c, _ in chars), "".join(p for _, p in chars)


def mobile_number(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    return day.replace(year=day.year - years, day=min(day.day, 28) if day.month == 2 else day.day)


def birth_date(rng: random.Random, today: date) -> date:
    """A birth date strictly before ``today`` with an age drawn from the age bands."""
    low, high, _ = rng.choices(_AGE_BANDS, weights=[w for _, _, w in _AGE_BANDS])[0]
    earliest = years_before(today, high + 1) + timedelta(days=1)
    latest = years_before(today, low) - timedelta(days=1)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def street_address(rng: random.Random, region: Region) -> str:
    """Street, house number and, for most, building and flat, e.g. 文三路88号3幢502室."""
    street = f"{rng.choice(region.streets)}{rng.randint(1, 399)}号"
    if rng.random() < 0.8:
        street += f"{rng.randint(1, 24)}幢{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
    return street


def next_of_kin(rng: random.Random, family: str, sex: str, age: int) -> Kin:
    if age < 18:
        options = [("FTH", "父亲", "M"), ("MTH", "母亲", "F")]
    elif age >= 60:
        options = [("SON", "儿子", "M"), ("DAU", "女儿", "F"), ("SPO", "配偶", "F" if sex == "M" else "M")]
    else:
        options = [("SPO", "配偶", "F" if sex == "M" else "M"), ("BRO", "兄弟", "M"), ("SIS", "姐妹", "F")]
    relation, text, kin_sex = rng.choice(options)
    shares_family = relation in ("FTH", "BRO", "SIS") or (relation in ("SON", "DAU") and sex == "M")
    kin_family = family if shares_family else pick_family(rng)[0]
    return Kin(kin_family, pick_given(rng, kin_sex)[0], relation, text, mobile_number(rng))


def make_person(rng: random.Random, index: int, mrn: str, today: date) -> Person:
    """One patient; ``today`` anchors ages (the first day of the generated period)."""
    sex = rng.choice("MF")
    family, family_py = pick_family(rng)
    given, given_py = pick_given(rng, sex)
    born = birth_date(rng, today)
    region = rng.choice(REGIONS)
    landline = (
        f"{region.area_code}-{rng.randint(2, 8)}{rng.randrange(10**7):07d}" if rng.random() < 0.25 else None
    )
    email = (
        f"{family_py}{given_py}{born.year % 100:02d}@{rng.choice(_MAIL_DOMAINS)}"
        if rng.random() < 0.3
        else None
    )
    plan = rng.choice(INSURANCE_PLANS)
    insurance = (*plan, f"{region.code[:4]}{rng.randrange(10**12):012d}") if rng.random() < 0.7 else None
    return Person(
        index=index,
        mrn=mrn,
        ric=make_ric(rng, region, born, sex),
        family=family,
        given=given,
        pinyin=family_py + given_py,
        sex=sex,
        birth_date=born,
        region=region,
        street=street_address(rng, region),
        mobile=mobile_number(rng),
        landline=landline,
        email=email,
        kin=next_of_kin(rng, family, sex, today.year - born.year),
        insurance=insurance,
    )


def make_cohort(seed: int, count: int, today: date) -> list[Person]:
    """``count`` patients with unique MRNs and resident IDs, in generation order.

    MRNs are 8 digits below 60,000,000; duplicate registrations (see ``census``) use the numbers above.
    """
    rng = random.Random(f"{seed}:people")  # noqa: S311 - synthetic data, not security
    mrns = rng.sample(range(10_000_000, 60_000_000), count)
    people: list[Person] = []
    seen: set[str] = set()
    for index, mrn in enumerate(mrns):
        person = make_person(rng, index, f"{mrn:08d}", today)
        while person.ric in seen:
            person = make_person(rng, index, f"{mrn:08d}", today)
        seen.add(person.ric)
        people.append(person)
    return people

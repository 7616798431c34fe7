"""Detectors of dates and of ages over 89: numeric and Chinese-numeral dates, English month names,
year-month, month/day, holidays that pin a day, weekdays (not when they count a frequency), ages of 90 and more in digits or
Chinese numerals. A date that parses carries its value shifted by the patient's offset (``Span.value``).
Pure; returns spans, never logs text."""

from __future__ import annotations

import re
from datetime import date, timedelta

import cn2an

from deid.text import Span, Views, gate

_NUM = r"(?:[1-3]?十[0-9]?|[0-9]{1,2})"
_YEAR = r"(?:18|19|20)[0-9]{2}"
MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
          "nov": 11, "dec": 12}
_MONTH_NAME = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
               r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
YMD = re.compile(r"(?<![0-9])(?P<y>" + _YEAR + r") ?(?:[-/.]|年) ?(?P<m>" + _NUM + r") ?(?:[-/.]|月) ?(?P<d>" + _NUM
                 + r")(?: ?[日号])?(?![0-9十])")
DMY = re.compile(r"(?<![0-9./\-])(?P<a>[0-9]{1,2})[./\-](?P<b>[0-9]{1,2})[./\-](?P<y>" + _YEAR + r")(?![0-9])")
COMPACT = re.compile(r"(?<![0-9A-Za-z])(?P<y>(?:19|20)[0-9]{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12][0-9]|3[01])"
                     r"(?:[01][0-9]|2[0-3])?(?:[0-5][0-9]){0,2}(?![0-9A-Za-z])")
YM = re.compile(r"(?<![0-9])(?P<y>" + _YEAR + r") ?年 ?(?P<m>" + _NUM + r") ?月(?! ?" + _NUM + r" ?[日号])"
                r"|(?<![0-9./\-])(?P<y2>" + _YEAR + r")[-/.](?P<m2>0?[1-9]|1[0-2])(?![0-9]|[-/.][0-9])")
MD = re.compile(r"(?<![0-9年.])(?P<m>" + _NUM + r") ?月份? ?(?P<d>" + _NUM + r") ?[日号]")
SLASH = re.compile(r"(?<![0-9/.\-])(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12][0-9]|3[01])(?![0-9/%.]|"
                   r" ?(?:片|粒|支|袋|瓶|量|剂|次|tab|dose|of|mg|ml|g\b|U\b|单位))")
_SCORE_BEFORE = re.compile(r"(?:pain|score|scale|评分|VAS|NRS|grade|分级|Grade|power|肌力|strength)[^0-9]{0,4}$",
                           re.IGNORECASE)
EN_MDY = re.compile(r"\b(?P<mn>" + _MONTH_NAME + r")\.? (?P<d>[0-9]{1,2})(?:st|nd|rd|th)?(?:,? (?P<y>" + _YEAR
                    + r"))?(?![0-9])", re.ASCII)
EN_DMY = re.compile(r"\b(?P<d>[0-9]{1,2})(?:st|nd|rd|th)? (?:of )?(?P<mn>" + _MONTH_NAME + r")\.?,?(?: (?P<y>"
                    + _YEAR + r"))?\b", re.ASCII)
EN_MY = re.compile(r"\b(?P<mn>" + _MONTH_NAME + r")\.?,? (?P<y>" + _YEAR + r")\b", re.ASCII)
HOLIDAY = re.compile(r"除夕|大年三十|大年初[一二三四五六七八九十]|正月初[一二三四五六七八九十]|正月十五|春节|元宵节|"
                     r"清明节?|端午节?|中秋节?|国庆节|国庆假期|元旦|七夕|重阳节?|劳动节|圣诞节|平安夜|小年夜?|腊八节?|"
                     r"冬至|寒食节?|中元节|下元节|妇女节|母亲节|父亲节|儿童节|教师节|情人节|建军节|青年节|"
                     r"Boxing Day|Halloween|Valentine's Day|Mother's Day|Father's Day|Labou?r Day|Memorial Day|"
                     r"Independence Day|Good Friday|Easter (?:Sunday|Monday)|Hanukkah|Diwali|Ramadan|Eid(?: al-\w+)?|"
                     r"Christmas(?: Eve| Day)?|New Year's(?: Eve| Day)?|Thanksgiving(?: Day)?|Easter|"
                     r"Chinese New Year|Spring Festival|Mid-Autumn Festival|Dragon Boat Festival|Lunar New Year")
WEEKDAY = re.compile(r"(?:星期|礼拜|周)[一二三四五六日天]|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b", re.ASCII)
AGE = re.compile(r"(?<![0-9.])(?P<n>9[0-9]|1[0-4][0-9]) ?(?:多|余)?(?:周岁|岁|yo\b|y/o|y\.o\.|-year-old| years? old"
                 r"|-years?-old| yrs? old)"
                 r"|(?:aged?|年龄[：:]?|[Aa]ge[：:]?|享年|高龄) ?(?P<n2>9[0-9]|1[0-4][0-9])(?![0-9])", re.ASCII)
AGE_CN = re.compile(r"(?P<n>九十[一二三四五六七八九]?|一百(?:零[一二三四五六七八九]|[一二三四]十[一二三四五六七八九]?|"
                    r"[一二三四五六七八九])?|百)(?:多|余)?(?:周岁|岁)")


def _num(token: str) -> int:
    """'12', '十', '十5', '2十', '3十1' (Chinese tens after digit folding) → int."""
    if "十" not in token:
        return int(token)
    tens, _, units = token.partition("十")
    return int(tens or 1) * 10 + int(units or 0)


def _day(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _date_span(m: re.Match, kind_value, shift: int | None) -> Span | None:
    """kind_value: the parsed date (or True for a valid date without a full value, None for invalid)."""
    if kind_value is None:
        return None
    value = None
    if shift is not None and isinstance(kind_value, date):
        value = "[DATE " + (kind_value + timedelta(days=shift)).isoformat() + "]"
    return Span(m.start(), m.end(), "date", value)


def _month_day(m: int, d: int, shift: int | None) -> str | None:
    day = _day(2000, m, d)  # a leap year, so 29 February exists
    if day is None:
        return None
    return "[DATE --" + (day + timedelta(days=shift)).strftime("%m-%d") + "]" if shift is not None else ""


def find(v: Views, shift: int | None = None) -> list[Span]:
    """Dates and ages over 89; with ``shift`` (days), full dates carry their shifted value."""
    spans: list[Span] = []
    t = v.digits
    if v.has_digit:
        spans += _numeric(t, shift)
        if gate(_AGE_HINT.search(t)):
            spans += [Span(m.start(), m.end(), "age") for m in AGE.finditer(t)]
    if gate(_MONTH_HINT.search(v.folded)):
        spans += _english(v.folded, shift)
    spans += [Span(m.start(), m.end(), "date") for m in HOLIDAY.finditer(v.folded)]
    if v.has_han and gate("岁" in v.text):
        spans += [Span(m.start(), m.end(), "age") for m in AGE_CN.finditer(v.text) if _age_cn(m.group("n"))]
    if gate(_WEEKDAY_HINT.search(v.folded)):
        spans += _weekdays(v.folded)
    return spans


# Cheap tests first, each a necessary part of the patterns it guards: a year (YMD, COMPACT, DMY, YM), 月 (MD),
# a slash (SLASH), an age's digits (AGE), a capitalised month name (English dates), a weekday word.
_YEAR_HINT = re.compile(r"(?:18|19|20)[0-9]{2}")
_AGE_HINT = re.compile(r"9[0-9]|1[0-4][0-9]")
_MONTH_HINT = re.compile(r"Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec")
_WEEKDAY_HINT = re.compile(r"星期|礼拜|周|day")


def _age_cn(token: str) -> bool:
    try:
        return int(cn2an.cn2an(token, "smart")) >= 90
    except (ValueError, KeyError):
        return token == "百"  # noqa: S105 - a numeral, not a secret


def _numeric(t: str, shift: int | None) -> list[Span]:
    out = []
    if gate(_YEAR_HINT.search(t)):
        out += _with_year(t, shift)
    for regex in [r for r, hint in ((MD, "月" in t), (SLASH, "/" in t)) if gate(hint)]:
        for m in regex.finditer(t):
            if regex is SLASH and _SCORE_BEFORE.search(t[max(0, m.start() - 10):m.start()]):
                continue
            shifted = _month_day(_num(m["m"]), _num(m["d"]), shift)
            out.append(None if shifted is None else Span(m.start(), m.end(), "date", shifted or None))
    return [s for s in out if s is not None]


def _with_year(t: str, shift: int | None) -> list[Span | None]:
    out = [_date_span(m, _day(int(m["y"]), _num(m["m"]), _num(m["d"])), shift) for m in YMD.finditer(t)]
    out += [_date_span(m, _day(int(m["y"]), int(m["m"]), int(m["d"])), shift) for m in COMPACT.finditer(t)]
    for m in DMY.finditer(t):
        a, b, y = int(m["a"]), int(m["b"]), int(m["y"])
        out.append(_date_span(m, _day(y, b, a) or _day(y, a, b), shift))
    for m in YM.finditer(t):
        month = _num(m["m"]) if m["m"] else int(m["m2"])
        out.append(Span(m.start(), m.end(), "date") if 1 <= month <= 12 else None)
    return out


def _english(t: str, shift: int | None) -> list[Span]:
    out = []
    for regex in (EN_MDY, EN_DMY):
        for m in regex.finditer(t):
            month = MONTHS[m["mn"][:3].lower()]
            if m["y"]:
                out.append(_date_span(m, _day(int(m["y"]), month, int(m["d"])), shift))
            elif _day(2000, month, int(m["d"])):
                out.append(Span(m.start(), m.end(), "date"))
    out += [Span(m.start(), m.end(), "date") for m in EN_MY.finditer(t)]
    return [s for s in out if s is not None]


def _weekdays(t: str) -> list[Span]:
    """A weekday pins a date (询问星期五能否探视, 周六复查, on Friday) unless it counts a frequency or a span:
    "每周三", "every Wednesday", "一周三次", "周一至周五" do not."""
    out = []
    for m in WEEKDAY.finditer(t):
        before = t[max(0, m.start() - 12):m.start()]
        following = t[m.end():m.end() + 1]
        if before.endswith(("每", "每个", "every ", "each ", "Every ", "Each ", "至", "到", "-", "~")) \
                or (following and following in "次至到-~、"):
            continue
        if m.group(0).startswith("周") and before[-1:] and before[-1] in "0123456789一二三四五六七八九十两几数第":
            continue  # 3周三次, 第2周一: weeks counted, not a weekday
        out.append(Span(m.start(), m.end(), "date"))
    return out

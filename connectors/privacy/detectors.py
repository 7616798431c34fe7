"""Detectors of personal data in free text: spans ``(start, end, kind)``, never the values. Pure, no I/O.

Kinds (``DETECTORS``, in priority order: when two spans overlap, the earlier and longer one wins, then the
kind listed first):

- ``resident_id``: PRC resident identity number, GB 11643: 18 digits (last may be X) whose check digit
  (ISO 7064 MOD 11-2, ``stdnum.cn.ric``), birth date (1900 … today) and province code are valid; or the
  15-digit pre-1999 form (19YYMMDD birth date, no check digit). The birth-place table of
  ``stdnum.cn.ric.is_valid`` is deliberately not required: a district missing from that table must not
  hide a real number from a privacy scan.
- ``insurance_number``: a value of ≥ 6 digits (up to 3 leading letters) after a declared prefix
  (医保, 社保, 参保, 医疗保险, insurance, policy …), or a bare 16-digit number starting with a province code
  (the regional insurance numbers of connectors/synthetic: 4-digit division code + 12 digits; bank card
  numbers look alike and are personal data too).
- ``mrn``: a value of ≥ 6 digits (up to 3 leading letters) after a declared prefix (MRN, 病案号, 病历号,
  住院号, 门诊号, 登记号, 患者ID …) or an HL7 CX identifier typed MR/MRN/PI/PT (``12345678^^^HIS&…^MR``,
  how the synthetic HIS sends its 8-digit MRNs). A bare 8-digit number is not an MRN: it is as likely a date.
- ``mobile_phone``: 1[3-9]x xxxx xxxx, optionally after +86, 0086 or 86, groups separated by space or '-'.
- ``landline``: 0xx(x)-xxxxxxx(x), ``(0xx)xxxxxxxx`` or with a space; local numbers start with 2-9.
- ``email``.
- ``date``: 2026-11-01, 2026/11/01, 2026.11.01, 2026年11月1日, 11月1日, 01.11.2026, 11/01/2026, and compact
  20261101 with an optional hhmmss (HL7 DTM) when it is a real calendar day in 1900–2099.
- ``chinese_name`` (heuristic): a common family name and one or two Han characters after a cue word (患者, 家属,
  联系人, 姓名 …), or an HL7 family^given pair (``张^伟``). A name without a cue is not found: scrub known names.

Boundaries: a digit-based value never starts or ends inside an ASCII alphanumeric token, so the digits of
a hex pseudonym (``3f5a13812345678ab…``), a longer digit run or a code like ``A13812345678`` never match;
Han characters and punctuation are boundaries (Chinese has no spaces). Fullwidth digits and letters
(``１３８…``) are folded to ASCII first, one character for one, so spans index the original text.

Pattern strings are written in the subset that Python ``re`` and PostgreSQL ARE read alike
(``connectors/privacy/sql.py`` turns them into SQL; tests/integration/test_privacy_sql.py checks both agree):
``[0-9]`` rather than ``\\d``, ``\\u4e00`` escapes, no back references, only one-character lookbehinds such as
``(?<![0-9A-Za-z])``, and one optional leading context group ``(?P<pre>…)`` that is matched but not part
of the span (e.g. "住院号"). Python alone then checks what a regex cannot: check digits and calendar days.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple

from stdnum.cn import ric

# Digits and letters glued to a value make it part of a longer token (a pseudonym, a code, a number).
B = r"(?<![0-9A-Za-z])"
E = r"(?![0-9A-Za-z])"

# First two digits of a PRC division code: provinces, plus 81-83 (residence permits of HK, Macau, Taiwan).
PROVINCE = r"(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3])"

FOLD_FROM = "０１２３４５６７８９＋－＠．：（）" + "".join(chr(c) for c in range(0xFF21, 0xFF3B)) \
    + "".join(chr(c) for c in range(0xFF41, 0xFF5B))
FOLD_TO = "0123456789+-@.:()" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abcdefghijklmnopqrstuvwxyz"
FOLD = str.maketrans(FOLD_FROM, FOLD_TO)

_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MM = r"(?:0[1-9]|1[0-2])"
_DD = r"(?:0[1-9]|[12][0-9]|3[01])"
_CENTURY_YEAR = r"(?:19|20)[0-9]{2}"
_ID_VALUE = r"[A-Za-z]{0,3}[0-9]{6,}"
# Between a prefix and its value: punctuation, Han characters (卡号：) and a few English words (no., ID).
_FILLER = r"(?:[^0-9A-Za-z\n]|[Nn]o\.?|[Nn]umber|[Ii][Dd]|[Cc]ard){0,8}"

MRN_PREFIXES = (r"[Mm][Rr][Nn]|[Mm][Rr] ?[Nn][Oo]\.?|[Mm]edical [Rr]ecord(?: [Nn]o\.?| [Nn]umber)?"
                r"|病案号|病历号|住院号|门诊号|登记号|病人ID|患者ID|病人编号|患者编号")
INSURANCE_PREFIXES = (r"医保|社保|参保|医疗保险|保险|[Ii]nsurance|[Pp]olicy|[Mm]ember ?[Ii][Dd]")

RESIDENT_ID = (B + PROVINCE + r"[0-9]{4}(?:(?:19|20)[0-9]{2}" + _MM + _DD + r"[0-9]{3}[0-9Xx]|[0-9]{2}" + _MM + _DD
               + r"[0-9]{3})" + E)
MOBILE_PHONE = B + r"(?:(?:\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}" + E
LANDLINE = r"(?<![0-9A-Za-z+])" + r"(?:\(0[1-9][0-9]{1,2}\) ?|0[1-9][0-9]{1,2}[ -])[2-9][0-9]{6,7}" + E
EMAIL = r"(?<![A-Za-z0-9._+-])[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}" + E
MRN = (r"(?P<pre>(?:" + MRN_PREFIXES + r") *[:：#]? *)" + _ID_VALUE + E
       + "|" + B + _ID_VALUE + r"(?=\^[^^~|]*\^[^^~|]*\^[^^~|]*\^(?:MRN|MR|PI|PT)" + E + ")")
INSURANCE_NUMBER = (r"(?P<pre>(?:" + INSURANCE_PREFIXES + r")" + _FILLER + r")" + _ID_VALUE + E
                    + "|" + B + PROVINCE + r"[0-9]{14}" + E)
# The most frequent family names (about 85 % of the population) and common two-character ones.
SURNAMES = ("欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|令狐|夏侯|[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓"
            "曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎"
            "贺顾毛郝龚邵万钱严覃武戴莫孔向汤]")
HAN = r"[\u4e00-\u9fff]"
NAME_CUES = (r"患者|病人|病员|身份|家属|亲属|联系人|监护人|佩戴者|姓名|配偶|丈夫|妻子|儿子|女儿|父亲|母亲|哥哥|姐姐|弟弟|妹妹"
             r"|[Nn]ame|[Pp]atient")
# After a cue word (患者张伟，…), or an HL7 XPN family^given pair at the start of a field or repetition
# (PID-5, NK1-2 as ``张^伟^^^^^L``). A given name runs to the next non-Han character, else one character
# is taken: "患者张伟夜间…" yields 张伟; "患者王小明今日…" only 王小 (scrub known names for the rest).
CHINESE_NAME = (r"(?P<pre>(?:" + NAME_CUES + r") ?[:：]? ?)(?:" + SURNAMES + r")(?:" + HAN + r"{1,2}(?!" + HAN + r")|"
                + HAN + r")"
                + r"|(?<![^~])(?:" + SURNAMES + r")\^" + HAN + r"{1,3}(?![^^~])")
DATE = (r"(?:" + B + _CENTURY_YEAR + r"[-/.]" + _MONTH + r"[-/.]" + _DAY
        + "|" + B + r"(?:" + _CENTURY_YEAR + r" ?年 ?)?" + _MONTH + r" ?月 ?" + _DAY + r" ?[日号]"
        + "|" + B + _DAY + r"[./-]" + _DAY + r"[./-]" + _CENTURY_YEAR
        + "|" + B + _CENTURY_YEAR + _MM + _DD + r"(?:(?:[01][0-9]|2[0-3])(?:[0-5][0-9]){0,2})?"
        + r")(?:" + E + r"|(?=T[0-9]))")


class Span(NamedTuple):
    """Half-open ``[start, end)`` character range of ``kind`` in the text it was found in."""

    start: int
    end: int
    kind: str


def _ric_valid(value: str) -> bool:
    value = value.upper()
    if len(value) == 15:
        return _real_day(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    if ric.calc_check_digit(value) != value[-1]:
        return False
    year = int(value[6:10])
    return 1900 <= year <= date.today().year and _real_day(year, int(value[10:12]), int(value[12:14]))


def _real_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


_NUMBERS = re.compile(r"[0-9]+")


def _date_valid(value: str) -> bool:
    """A real calendar day; d/m/y is accepted when either the d.m.y or the m/d/y reading is real."""
    numbers = [int(n) for n in _NUMBERS.findall(value)]
    if "月" in value:
        year = numbers[0] if len(numbers) == 3 else 2000  # month and day only: any leap year
        return _real_day(year, numbers[-2], numbers[-1])
    if len(numbers) == 1:  # compact YYYYMMDD[hh[mm[ss]]]
        digits = _NUMBERS.findall(value)[0]
        return _real_day(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    first, second, third = numbers
    if first >= 1900:
        return _real_day(first, second, third)
    return _real_day(third, second, first) or _real_day(third, first, second)


@dataclass(frozen=True)
class Detector:
    """One kind of personal data: a portable pattern, an optional Python-only check, the scrub tag."""

    kind: str
    tag: str
    pattern: str
    validate: Callable[[str], bool] | None = None
    needs: str = "digit"  # cheap pre-filter: the text must hold a "digit", an "@" or a "han" character
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern))

    def find(self, folded: str) -> list[Span]:
        """Spans in an already folded text (see ``FOLD``)."""
        spans = []
        for m in self.regex.finditer(folded):
            start = m.end("pre") if "pre" in self.regex.groupindex and m.group("pre") is not None else m.start()
            if self.validate is None or self.validate(folded[start:m.end()]):
                spans.append(Span(start, m.end(), self.kind))
        return spans


def _default_detectors() -> dict[str, Detector]:
    items = (
        Detector("resident_id", "[RESIDENT_ID]", RESIDENT_ID, _ric_valid),
        Detector("insurance_number", "[INSURANCE]", INSURANCE_NUMBER),
        Detector("mrn", "[MRN]", MRN),
        Detector("mobile_phone", "[PHONE]", MOBILE_PHONE),
        Detector("landline", "[PHONE]", LANDLINE),
        Detector("email", "[EMAIL]", EMAIL, needs="@"),
        Detector("date", "[DATE]", DATE, _date_valid),
        Detector("chinese_name", "[NAME]", CHINESE_NAME, needs="han"),
    )
    return {d.kind: d for d in items}


DETECTORS: dict[str, Detector] = _default_detectors()
_DIGIT = re.compile(r"[0-9０-９]")
_HAN = re.compile(HAN)


def configured(*, mrn: str | None = None, insurance_number: str | None = None,
               base: Mapping[str, Detector] = DETECTORS) -> dict[str, Detector]:
    """A copy of ``base`` with other MRN or insurance patterns (same portable subset; ``(?P<pre>…)`` allowed)."""
    out = dict(base)
    if mrn is not None:
        out["mrn"] = replace(out["mrn"], pattern=mrn)
    if insurance_number is not None:
        out["insurance_number"] = replace(out["insurance_number"], pattern=insurance_number)
    return out


def _selected(kinds: Iterable[str] | None, detectors: Mapping[str, Detector]) -> list[Detector]:
    if kinds is None:
        return list(detectors.values())
    wanted = set(kinds)
    unknown = wanted - detectors.keys()
    if unknown:
        raise ValueError(f"unknown detector kinds: {sorted(unknown)}; known: {sorted(detectors)}")
    return [d for d in detectors.values() if d.kind in wanted]


def detect(text: str, kinds: Iterable[str] | None = None, *,
           detectors: Mapping[str, Detector] = DETECTORS) -> list[Span]:
    """Non-overlapping spans in text order; overlaps go to the earlier, then longer, then higher-priority one."""
    present = {"digit": _DIGIT.search(text) is not None, "@": "@" in text or "＠" in text,
               "han": _HAN.search(text) is not None}
    if not any(present.values()):
        return []
    folded = text.translate(FOLD)
    found: list[tuple[int, int, int, Span]] = []
    for priority, detector in enumerate(_selected(kinds, detectors)):
        if present.get(detector.needs, True):
            found.extend((s.start, s.start - s.end, priority, s) for s in detector.find(folded))
    if len(found) < 2:
        return [f[3] for f in found]
    found.sort()
    spans: list[Span] = []
    for _, _, _, span in found:
        if not spans or span.start >= spans[-1].end:
            spans.append(span)
    return spans


def _known_pattern(value: str) -> str:
    """A known value as a regex: digit-like values (phones, ids) also match with separators stripped or added."""
    compact = re.sub(r"[\s\-+()]", "", value.translate(FOLD))
    if len(compact) >= 5 and re.fullmatch(r"[0-9]+[Xx]?", compact):
        return B + r"[ \-]?".join(re.escape(c) if c.isdigit() else "[Xx]" for c in compact) + E
    body = re.escape(value)
    if value.isascii() and value[:1].isalnum() and value[-1:].isalnum():
        return r"(?i:" + B + body + E + ")"
    return body


def scrub_known(text: str, known: Mapping[str, str]) -> str:
    """Replace each known value (longest first) by its tag, in one pass."""
    values = sorted((v for v in known if v and v.strip()), key=len, reverse=True)
    if not values:
        return text
    regex = re.compile("|".join(f"({_known_pattern(v)})" for v in values))
    tags = [known[v] for v in values]
    parts, last = [], 0
    for m in regex.finditer(text.translate(FOLD)):  # folding keeps offsets: cut the original text
        parts += [text[last:m.start()], tags[(m.lastindex or 1) - 1]]
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)


def scrub(text: str, known: Mapping[str, str] | None = None, kinds: Iterable[str] | None = None, *,
          detectors: Mapping[str, Detector] = DETECTORS) -> str:
    """Known values first (the patient's own identifiers, next of kin), then every detected span, by tags."""
    if known:
        text = scrub_known(text, known)
    spans = detect(text, kinds, detectors=detectors)
    if not spans:
        return text
    parts, last = [], 0
    for span in spans:
        parts += [text[last:span.start], detectors[span.kind].tag]
        last = span.end
    parts.append(text[last:])
    return "".join(parts)

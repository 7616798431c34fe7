"""The privacy checks' own detectors: what "personal data" means to the blocking checks, written apart from the
scrubber (deid/) and from the detectors it shares with `wardflow scan` (connectors/privacy/), so that a check
cannot agree with the code it checks by construction. Nothing here is imported by the scrubber, nor imports it.

Two forms, tested against each other (tests/unit/test_privacy_detectors.py):
- ``find(text)``: Python, on one value; validates what has a checksum (python-stdnum: Chinese resident ID
  with any separators or fullwidth digits, Luhn card numbers), and finds phone shapes (mobile, landline,
  +86), e-mail addresses including obfuscated ones ("a at b dot com", "(at)", "[dot]", fullwidth ＠) and
  names (a surname lexicon of its own beside honorifics and form labels, pinyin names with an upper-case
  surname or an honorific). Returns kinds and spans, never prints a value.
- ``SQL_PATTERNS``: PostgreSQL shapes for the Great Expectations suite (no checksum in SQL, so these are
  broader: an 18-character resident-ID shape, an 11-digit mobile shape, an e-mail shape), each allowing
  separators between digits.

What these do not find: names written without a cue (a bare Chinese name in prose), addresses, dates,
identifiers of formats not listed here. The canary check covers known values in every spelling instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Separators people put between digits (after NFKC: fullwidth forms are ASCII already).
_SEP = r"[\s\-.·/_]*"
_NOT_ALNUM_BEFORE, _NOT_ALNUM_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
RESIDENT_ID = re.compile(_NOT_ALNUM_BEFORE + r"([1-9](?:" + _SEP + r"\d){16}" + _SEP + r"[\dXx])" + _NOT_ALNUM_AFTER)
CARD = re.compile(_NOT_ALNUM_BEFORE + r"([3-6]\d{3}(?:[ \-]?\d){9,15})" + _NOT_ALNUM_AFTER)
MOBILE = re.compile(_NOT_ALNUM_BEFORE + r"((?:\+?86" + _SEP + r")?1[3-9](?:" + _SEP + r"\d){9})" + _NOT_ALNUM_AFTER)
LANDLINE = re.compile(_NOT_ALNUM_BEFORE + r"(\(?0\d{2,3}\)?[\s\-.]?[2-9]\d{2,3}[\s\-.]?\d{4})" + _NOT_ALNUM_AFTER)
_AT = r"(?:@|\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+)"
_DOT = r"(?:\.|\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+)"
EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+\-]*" + _AT + r"[A-Za-z0-9\-]+(?:" + _DOT + r"[A-Za-z0-9\-]+)*" + _DOT
                   + r"(?:com|org|net|edu|gov|cn|io|info|hk|tw|uk|de|jp)\b", re.IGNORECASE)

# A surname lexicon of the checks' own (the most frequent single and the compound surnames).
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
            "公冶", "巫马", "亓官", "第五", "濮阳", "闾丘", "子车", "梁丘", "令狐", "端木", "轩辕")
_SURNAME = "(?:" + "|".join(COMPOUND) + "|[" + SURNAMES + "])"
_HONORIFIC = "(?:先生|女士|小姐|医生|医师|护士|大夫|老师|阿姨|老人)"
_LABEL = "(?:姓名|患者姓名|联系人|家属|监护人|紧急联系人|主治医生|责任护士)[:：]\\s*"
CN_NAME = re.compile(f"(?:{_LABEL}{_SURNAME}[\u4e00-\u9fff]{{1,2}}|{_SURNAME}[\u4e00-\u9fff]{{1,2}}(?={_HONORIFIC}))")
_PINYIN_SURNAMES = ("WANG LI ZHANG LIU CHEN YANG HUANG ZHAO WU ZHOU XU SUN MA ZHU HU GUO HE GAO LIN LUO ZHENG LIANG "
                    "XIE SONG TANG HAN FENG DENG CAO PENG ZENG XIAO TIAN DONG PAN YU JIANG CAI DU YE CHENG SU WEI LV "
                    "DING REN SHEN YAO LU JIANG CUI ZHONG TAN FAN JIN SHI LIAO JIA XIA FANG BAI ZOU MENG XIONG QIN QIU "
                    "YIN XUE YAN DUAN LEI HOU LONG SHI TAO GU MAO HAO GONG SHAO WAN QIAN OUYANG SIMA SHANGGUAN ZHUGE "
                    "GONGYE WUMA QIGUAN DIWU PUYANG LVQIU ZIJU LIANGQIU LINGHU DUANMU").split()
PINYIN_NAME = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"
    r"|\b[A-Z][a-z]+\s+(?:" + "|".join(sorted(set(_PINYIN_SURNAMES), key=len, reverse=True)) + r")\b"
    r"|\b(?:" + "|".join(sorted(set(_PINYIN_SURNAMES), key=len, reverse=True)) + r"),?\s+[A-Z][a-z]+\b)")


@dataclass(frozen=True)
class Finding:
    """One detected span: its kind and where it is (never the value)."""

    kind: str
    start: int
    end: int


def _compact(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text).upper()


def _valid_resident_id(candidate: str) -> bool:
    from stdnum.cn import ric

    return ric.is_valid(_compact(candidate))


def _valid_card(candidate: str) -> bool:
    from stdnum import luhn

    digits = _compact(candidate)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn.is_valid(digits)


def find(text: str) -> list[Finding]:
    """Every personal-data span these detectors see in ``text`` (folded: NFKC, so fullwidth forms count)."""
    folded = unicodedata.normalize("NFKC", text)
    found = [Finding("resident_id", m.start(1), m.end(1)) for m in RESIDENT_ID.finditer(folded)
             if _valid_resident_id(m.group(1))]
    found += [Finding("card", m.start(1), m.end(1)) for m in CARD.finditer(folded) if _valid_card(m.group(1))]
    for kind, pattern in (("phone", MOBILE), ("phone", LANDLINE), ("email", EMAIL), ("name", CN_NAME),
                          ("name", PINYIN_NAME)):
        found += [Finding(kind, m.start(), m.end()) for m in pattern.finditer(folded)]
    return found


def kinds_in(text: str) -> set[str]:
    return {f.kind for f in find(text)}


# PostgreSQL (ARE) shapes for the Great Expectations suite; applied to normalize(col, NFKC). No checksum in SQL,
# so broader than the Python detectors above.
_PG_SEP = "[[:space:].·/_-]*"
SQL_PATTERNS = {
    "resident_id_shape": "(^|[^0-9A-Za-z])[1-9](" + _PG_SEP + "[0-9]){16}" + _PG_SEP + "[0-9Xx]([^0-9A-Za-z]|$)",
    "mobile_shape": "(^|[^0-9A-Za-z])(\\+?86" + _PG_SEP + ")?1[3-9](" + _PG_SEP + "[0-9]){9}([^0-9A-Za-z]|$)",
    "email_shape": "[A-Za-z0-9][A-Za-z0-9._%+-]*([[:space:]]*[([{<][[:space:]]*at[[:space:]]*[])}>][[:space:]]*|@)"
                   "[A-Za-z0-9-]+",
}

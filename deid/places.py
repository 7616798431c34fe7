"""Detectors of places: street addresses (Chinese and English), residential compounds and villages, and
organisations (workplaces, schools, community health centres, named hospitals). Pure; spans only."""

from __future__ import annotations

import re

from deid.lexicon import COMPOUND_SUFFIXES, ORG_SUFFIXES, ROAD_SUFFIXES
from deid.text import Span, Views, alternation, gate, han_class_without

# Han characters that can be part of a place name: not the verbs and particles that lead into one
# (住在、位于、家住、就职于), so a span starts at the place, not at the sentence.
_STOP = "住在于到是的与往从近家址及或向由自经至对将把被给跟同让请前后入出系之任职读"
P = "[" + han_class_without(_STOP) + "0-9A-Za-z]"
_NUM = r"(?:[0-9]+|[0-9]?十[0-9]?)(?:-[0-9]+)?"
# After the street or compound number: building, unit, floor, lane, room… in any order, then a bare room number.
_PART = _NUM + r"(?:号楼|号院|支弄|号房|栋|幢|座|单元|门|层|楼|弄|号|室|房|户|组|排|巷)"
_UNITS = r"(?:" + _PART + r"){0,6}(?:[0-9]{3,4}(?:室|号房|房|户)?)?"
_ADMIN = r"(?:" + P + r"{1,8}?(?:省|自治区|市|区|县|旗|镇|乡|街道))*"
ROAD = re.compile(_ADMIN + P + r"{1,10}?(?:" + alternation(ROAD_SUFFIXES) + r")" + P + r"{0,4}?" + _NUM + r"(?:号院|号|弄)"
                  + _UNITS)
COMPOUND = re.compile(_ADMIN + P + r"{2,10}?(?:" + alternation(COMPOUND_SUFFIXES) + r")(?:" + _NUM
                      + r"(?:号楼|栋|幢|座|期|区|号院|组|号)" + _UNITS + "|" + _NUM + r"(?:号|组))")
VILLAGE = re.compile(r"(?<=住|址|在|于|自)" + P + r"{2,8}?(?:镇|乡)" + P + r"{1,6}?村(?:" + _NUM + r"组)?")
_EN_WORD = r"(?:[A-Z][a-z]+(?:'s)?|[0-9]+(?:st|nd|rd|th))"
_EN_STREET = r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Way|Court|Ct|Place|Terrace|Close|Hutong)"
EN_ADDRESS = re.compile(r"(?:\b(?:Room|Rm|Apt|Apartment|Flat|Unit|Suite) ?#?[0-9A-Z\-]+, )*(?:\bNo\. ?)?\b[0-9]{1,5}[A-Z]?,? "
                        r"(?:" + _EN_WORD + r" ){1,4}" + _EN_STREET + r"\b\.?(?:,? (?:Apt|Apartment|Unit|Flat|Suite"
                        r"|Room|Rm)\.? ?#?[0-9A-Z\-]+)?", re.ASCII)
# Schools by number (成都七中, 北京四中): a place name and a numeral before 中, not 中心/中药/中午.
SCHOOL_NO = re.compile(P + r"{2,6}?[0-9]{1,3}中(?![心文药医国午期段度等断间枢])")
ORG = re.compile(P + r"{2,14}?(?:" + alternation(ORG_SUFFIXES) + r")")
_GENERIC_ORG = re.compile(r"^(?:我|本|该|外|贵|当地|上级|下级|基层|其他|附近|专科|综合|定点|社区|省级|市级|县级|区级|"
                          r"三甲|二甲|一级|二级|三级|民营|私立|公立|大型|某)*(?:医院|卫生院|诊所|学校|公司|大学|中学|小学|"
                          r"工厂|厂|银行|集团)$")
_EN_ORG_SUFFIX = (r"(?:Hospital|High School|School|University|College|Company|Co\.|Inc\.?|Ltd\.?|Corporation|Corp\.?"
                  r"|Factory|Bank|Community Health Cent(?:re|er)|Health Cent(?:re|er)|Clinic|Kindergarten|Academy"
                  r"|Institute|Nursing Home)")
EN_ORG = re.compile(r"\b(?!(?:The|A|An|Our|This|That|Local|Your|His|Her|Their|Same|Another|Previous)\b)"
                    r"(?:[A-Z][A-Za-z&'\-]+ (?:of |and |for )?){1,5}" + _EN_ORG_SUFFIX, re.ASCII)


# A cheap test first: a pattern runs only when the text holds a character its suffix needs.
_ROAD_HINT = re.compile(r"[0-9][号弄]")
_COMPOUND_HINT = re.compile(alternation(COMPOUND_SUFFIXES))
_ORG_HINT = re.compile(alternation(ORG_SUFFIXES))
_EN_STREET_HINT = re.compile(_EN_STREET)
_EN_ORG_HINT = re.compile(_EN_ORG_SUFFIX)


def find(v: Views) -> list[Span]:
    spans: list[Span] = []
    if v.has_han:
        t = v.digits
        patterns = [(ROAD, _ROAD_HINT), (COMPOUND, _COMPOUND_HINT), (VILLAGE, None)]
        for regex, hint in patterns:
            if gate(hint.search(t) if hint else "村" in t):
                spans += [Span(m.start(), m.end(), "address") for m in regex.finditer(t)]
        if gate("中" in t):
            spans += [Span(m.start(), m.end(), "org") for m in SCHOOL_NO.finditer(t)]
        if gate(_ORG_HINT.search(v.folded)):
            spans += [Span(m.start(), m.end(), "org") for m in ORG.finditer(v.folded)
                      if not _GENERIC_ORG.match(m.group(0))]
    if v.has_digit and gate(_EN_STREET_HINT.search(v.folded)):
        spans += [Span(m.start(), m.end(), "address") for m in EN_ADDRESS.finditer(v.folded)]
    if gate(_EN_ORG_HINT.search(v.folded)):
        spans += [Span(m.start(), m.end(), "org") for m in EN_ORG.finditer(v.folded)]
    return spans

"""Detectors of numbers that identify: resident ID numbers, phones, bank cards, passports and permits,
licence plates, WeChat/QQ accounts, e-mail (also obfuscated), IP addresses, record numbers after a cue.

Each returns spans over the digit-folded view (Chinese digits written one by one count as digits), checks
what a regex cannot with a library (``stdnum`` check digits and Luhn, ``ipaddress``); phone shapes count
whether or not their prefix is allocated today. Never returns or logs the value itself.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date

from stdnum import luhn
from stdnum.cn import ric

from deid.text import Span, Views, gate

B = r"(?<![0-9A-Za-z])"
E = r"(?![0-9A-Za-z])"
SEP = r"[ \-.]?"
_STRIP = re.compile(r"[^0-9Xx]")

# Separators anywhere between the groups: spaces (also several), dashes, dots (110105.19610512.1221).
RESIDENT_ID = re.compile(B + r"[1-8](?: *[ \-.]? *[0-9]){5} *[ \-.]? *(?:(?:18|19|20)(?: *[ \-.]? *[0-9]){6}"
                         r"(?: *[ \-.]? *[0-9]){3} *[ \-.]? *[0-9Xx]|(?: *[ \-.]? *[0-9]){9})" + E)
_CC = r"(?:\(? ?(?:\+|00) ?86 ?\)?[ \-]?|86[ \-])"  # +86, 0086, (+86), 86- before a national number
# A mobile shape (1[3-9] and nine more digits) is a phone whether or not its prefix is allocated today.
MOBILE = re.compile(B + _CC + r"?1[3-9][0-9](?:[ \-.]?[0-9]){8}" + E)
_AREA = r"(?:10|2[0-9]|[3-9][0-9]{2})"  # Chinese area codes without their 0: 10 Beijing, 2X, then three digits
LANDLINE = re.compile(r"(?<![0-9A-Za-z+])(?:" + _CC + r"(?:\(0?" + _AREA + r"\)|0?" + _AREA + r")"
                      r"|\(0" + _AREA + r"\)|0" + _AREA + r")"
                      r" ?[ \-.]? ?[2-9](?:[ \-.]?[0-9]){6,7}" + E)
# An extension after a phone belongs to it (转 457, 分机 12, ext. 3, x204).
EXTENSION = re.compile(r" ?(?:转|分机|[Ee]xt\.?|[Xx]) ?[0-9]{1,5}(?![0-9])")
# Record numbers written with a hospital prefix and no cue word: MR0912478, ZY-2019-6535321, MZ20260001234.
PREFIXED_RECORD = re.compile(r"(?<![0-9A-Za-z])(?:MRN?|ZY|MZ|BA|IP|OP|HN|PID|INP|OPD|IPD|ADM)[ \-#:]?"
                             r"(?:(?:19|20)[0-9]{2}[\-/])?[0-9](?:[\-]?[0-9]){5,13}" + E)
CARD = re.compile(B + r"[3-6][0-9]{3}(?:[ \-]?[0-9]{4}){2}[ \-]?[0-9]{3,4}(?:[ \-]?[0-9]{1,4})?" + E)
PASSPORT = re.compile(B + r"(?:[EGDSP][0-9]{8}|E[A-HJ-NP-Z][0-9]{7})" + E)
PERMIT = re.compile(B + r"(?:[CWHM][0-9]{8}(?:[0-9]{2})?|C[A-HJ-NP-Z][0-9]{7})" + E)
PLATE = re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][ ·•\-]?"
                   r"[A-HJ-NP-Z0-9]{5,6}" + E)
_CONTACT_FILLER = r"[ :：]*(?:号码?|帐?账?号|ID|id|是|为)?[ :：]*"
WECHAT = re.compile(r"(?:微信号?|[Ww]e[Cc]hat(?: ?ID)?|[Vv][Xx]号?|[Ww][Xx]号?|V信号?|威信号?)" + _CONTACT_FILLER
                    + r"(?P<v>[A-Za-z][A-Za-z0-9_\-]{5,19}|[0-9][0-9 \-]{4,14}[0-9])" + E)
QQ = re.compile(r"(?:[Qq][Qq]|扣扣)" + _CONTACT_FILLER + r"(?P<v>[1-9][0-9]{4,11})" + E)
_AT = r"(?: ?(?:@|\(at\)|\[at\]|\{at\}|<at>)) ?| at |#"
_DOT = r"(?: ?(?:\.|\(dot\)|\[dot\]|\{dot\}) ?| dot )"
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*(?:" + _AT + r")[A-Za-z0-9\-]+(?:"
                   + _DOT + r"[A-Za-z0-9\-]+)*" + _DOT
                   + r"(?:com|cn|net|org|edu|gov|io|hk|mo|tw|me|cc|info|biz|co|uk|us|de|jp)(?![A-Za-z0-9])",
                   re.IGNORECASE)
IPV4 = re.compile(r"(?<![0-9.A-Za-z])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])")
IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
_VERSION_CUE = re.compile(r"(?:[Vv]|版本|[Vv]ersion|固件|[Ff]irmware)[ :：]*$")
RECORD_CUES = (
    "门诊号", "住院号", "病案号", "病历号", "就诊号", "就诊卡号", "诊疗卡号", "健康档案编号", "健康档案号", "档案编号",
    "档案号", "登记号", "患者ID", "病人ID", "患者编号", "病人编号", "医保卡号", "医保号", "医保编号", "社保卡号",
    "社保号", "医疗保险号", "参保号", "医保", "社保", "参保", "医疗保险", "保险", "insurance", "Insurance", "policy", "Policy", "身份证号码", "身份证号", "身份证", "证件号码", "证件号", "护照号", "护照",
    "通行证", "回乡证", "台胞证", "军官证", "驾驶证", "检查号", "影像号", "标本号", "条码号", "流水号", "序列号",
    "银行卡号", "银行卡", "卡号", "编号", "账号", "bank card", "insurance card", "card number", "Card No", "card", "MRN", "MR No", "Medical Record No", "Medical Record Number", "Patient ID",
    "Insurance No", "Insurance ID", "Insurance number", "Member ID", "Policy No", "Policy number", "Serial No",
    "Serial number", "record number", "record no", "Record No", "chart number", "chart no",
    "case number", "case no", "hospital no", "Hospital No", "hospital number", "Hospital number", "admission no",
    "Admission No", "admission number", "inpatient no", "Inpatient No", "outpatient no", "Outpatient No",
    "住院编号", "入院号", "入院编号", "门诊编号", "社会保障号", "社会保障卡号", "医疗证号", "合作医疗证号", "病历编号", "病案编号", "SN", "S/N", "Account No", "Account number", "Passport No", "Passport", "ID No", "ID number",
    "ID",
)
_CUE = "|".join(re.escape(c) for c in sorted(RECORD_CUES, key=len, reverse=True))
RECORD = re.compile(r"(?:" + _CUE + r")(?:[^0-9A-Za-z\n。；;，,]{0,6}?|\.? ?)(?P<v>[A-Za-z]{0,4}[\-]?[0-9](?:[0-9A-Za-z]"
                    r"|[\-/ ](?=[0-9A-Za-z])){3,29})" + E)
# After a phone cue any 7–13 digit number (separators allowed) is a phone, valid in a numbering plan or not.
PHONE_CUED = re.compile(r"(?:电话|手机|座机|固话|联系方式|联系电话|号码|[Tt]el\.?|[Pp]hone|[Mm]obile|[Cc]ell|[Cc]alled at"
                        r"|[Cc]ontact)[^0-9A-Za-z\n。；;]{0,6}?(?P<v>(?:\+|00)?(?:[0-9][ \-.()]?){6,12}[0-9])" + E)


# A cheap test first: every pattern gated by it needs seven digits, at most a few separators between two of them
# (tests/unit/test_deid_fast_paths.py pins the gated scrubber to the ungated one on the evaluation texts).
SEVEN_DIGITS = re.compile(r"[0-9](?:[ \-.()]{0,4}[0-9]){6}")
_IPV4_HINT = re.compile(r"[0-9]\.[0-9]")


def _spans(regex: re.Pattern[str], text: str, kind: str, valid=None, group: str | int = 0) -> list[Span]:
    out = []
    for m in regex.finditer(text):
        if valid is None or valid(m.group(group)):
            out.append(Span(m.start(group), m.end(group), kind))
    return out


def ric_valid(raw: str) -> bool:
    """Check digit (ISO 7064 MOD 11-2 via stdnum) and a real birth day; 15-digit numbers: the day only."""
    value = _STRIP.sub("", raw).upper()
    try:
        if len(value) == 15:
            date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
            return True
        if len(value) != 18 or ric.calc_check_digit(value) != value[-1]:
            return False
        return 1880 <= date(int(value[6:10]), int(value[10:12]), int(value[12:14])).year <= date.today().year
    except ValueError:
        return False


def card_valid(raw: str) -> bool:
    digits = re.sub(r"[^0-9]", "", raw)
    return 16 <= len(digits) <= 19 and luhn.is_valid(digits)


def plate_valid(raw: str) -> bool:
    return sum(c.isdigit() for c in raw) >= 3


def find(v: Views) -> list[Span]:
    """Every number-like identifier in the text (spans over the original text)."""
    if not v.has_digit:
        return []
    t = v.digits
    spans: list[Span] = []
    if gate(SEVEN_DIGITS.search(t)):
        spans += _spans(RESIDENT_ID, t, "resident_id", ric_valid)
        spans += _with_extension(t, _spans(MOBILE, t, "phone") + _spans(LANDLINE, t, "phone")
                                 + _spans(PHONE_CUED, t, "phone", group="v"))
        spans += _spans(PREFIXED_RECORD, t, "record")
        spans += _spans(CARD, t, "card", card_valid)
        spans += _spans(PASSPORT, t, "passport")
        spans += _spans(PERMIT, t, "permit")
    spans += _spans(PLATE, v.folded, "plate", plate_valid)
    spans += _spans(WECHAT, v.folded, "account", group="v")
    spans += _spans(QQ, t, "account", group="v")
    spans += _spans(RECORD, v.folded, "record", group="v")
    spans += _ips(v.folded)
    return spans


def _with_extension(t: str, phones: list[Span]) -> list[Span]:
    out = []
    for span in phones:
        m = EXTENSION.match(t, span.end)
        out.append(span._replace(end=m.end()) if m else span)
    return out


def find_email(v: Views) -> list[Span]:
    return _spans(EMAIL, v.folded, "email")


def _ips(t: str) -> list[Span]:
    out = []
    # an IPv6 value is kept only with "::" or seven colons (below); an IPv4 one needs a digit, a dot, a digit
    regexes = [r for r, hint in ((IPV4, _IPV4_HINT.search(t)), (IPV6, "::" in t or t.count(":") >= 7))
               if gate(hint)]
    for regex in regexes:
        for m in regex.finditer(t):
            value = m.group(0)
            if regex is IPV6 and value.count(":") < 7 and "::" not in value:
                continue
            if _VERSION_CUE.search(t[max(0, m.start() - 10):m.start()]):
                continue
            try:
                ipaddress.ip_address(value)
            except ValueError:
                continue
            out.append(Span(m.start(), m.end(), "ip"))
    return out

"""Detectors of personal names: Chinese names (single, compound and minority surnames; with a cue word
before or after, or strong enough alone), Tibetan/Uyghur-style names, names in pinyin (either order,
any case) and English names after a title or a relation word. Pure; spans only, never logged."""

from __future__ import annotations

import re

from deid.lexicon import (
    AFTER_NAME_WORDS,
    COMPOUND_SURNAMES,
    CUES_AFTER,
    CUES_BEFORE,
    EN_FIRST_NAMES,
    FOLLOW_WORDS,
    GIVEN_CHARS,
    MINORITY_NAME_PARTS,
    NOT_GIVEN,
    NOT_NAMES,
    PINYIN_EXTRA_SURNAMES,
    SINGLE_SURNAMES,
)
from deid.pinyin import PINYIN_WORDS_IN_ENGLISH, is_pinyin_given, pinyin_surnames, syllables
from deid.text import HAN, Span, Views, Words, alternation

TITLES = ("护士长", "医生", "医师", "大夫", "护士", "主任", "老师", "先生", "女士", "小姐", "阿姨", "师傅", "教授",
          "院长", "科长", "处长", "经理", "书记", "老人", "老伯", "大爷", "大妈", "奶奶", "爷爷", "叔", "姐", "哥")
# Surnames that are also frequent function words or word starts: named only with a cue word before them.
WEAK_SURNAMES = set("高常白石方江金马林龙史向文明于万平安和时原成全宁周余程苏任陆范夏包甘单季米左华曲冷雷关谷车"
                    "项费管柴蒙席卫应边师商沙查麻迟官封谈惠乐南班楚劳皮满闻位区海花权强盖练井巴丰支国计索宣相初门"
                    "云容来普母修危玉银公居干但元束衣信阴智植富由黄胡何许曾叶毛钱那都战展伊党"
                    "凤松牧仰秋咸籍扶鱼慎弘越红步习滑寿洪融贝巢禄")
RISKY_COMPOUNDS = {"东方", "百里", "第五", "单于", "长孙", "公孙", "司空", "上官", "子车", "段干", "乐正", "公西"}
_SURNAME = "(?:" + alternation(COMPOUND_SURNAMES) + "|[" + SINGLE_SURNAMES + "])"
# Where a surname may start: a plain class of their first characters, so re scans ahead in C (a lookahead
# before every position cannot); each hit is checked by _chinese_at, which reads the surname itself.
SURNAME_START = re.compile("[" + "".join(sorted(set(SINGLE_SURNAMES) | {c[0] for c in COMPOUND_SURNAMES})) + "]")
_COMPOUND_AT = re.compile(alternation(COMPOUND_SURNAMES))
_SINGLE = frozenset(SINGLE_SURNAMES)
# The plain definition of "a cue word before i"; cue_before() answers the same (pinned by a test) faster.
CUE_BEFORE_END = re.compile("(?:" + alternation(CUES_BEFORE) + r")[ :：,，、]?$")
_ENDS_NAME = tuple(sorted(set(CUES_AFTER) | set(AFTER_NAME_WORDS) | set(FOLLOW_WORDS), key=len, reverse=True))
_CUES_BEFORE = Words(CUES_BEFORE)
_TITLES = Words(TITLES)
_CUES_AFTER = Words(CUES_AFTER)
_ENDS_NAME_WORDS = Words(_ENDS_NAME)
_NOT_NAME_WORDS = Words(NOT_NAMES)


def cue_before(t: str, i: int) -> bool:
    """A cue word ends right before ``i``, maybe with one separator between (CUE_BEFORE_END on the 7 characters
    before ``i``, without a regex scan per candidate; like ``$``, a final newline is allowed after it)."""
    ends = [i, i - 1] if i > 0 and t[i - 1] == "\n" else [i]
    ends += [e - 1 for e in ends if e > 0 and t[e - 1] in " :：,，、"]
    return any(_CUES_BEFORE.ends(t, e) for e in ends)


# Conjunctions and prepositions that are also surnames: never a name before a title (和医生沟通).
FUNCTION_SURNAMES = set("和与及向于由对把被给跟同让请经")
MINORITY = re.compile("(?:" + alternation(MINORITY_NAME_PARTS) + "){2,3}")
MINORITY_ONE = re.compile("(?:" + alternation(MINORITY_NAME_PARTS) + ")")
DOTTED = re.compile(f"[{HAN}]{{2,6}}[·•・．.][{HAN}]{{2,8}}")
_HAN_CHAR = re.compile(f"[{HAN}]")
_CAP = r"(?:[A-Z][a-z]+|[A-Z]{2,})"
PINYIN_RUN = re.compile(r"\b" + _CAP + r"(?:(?: |-)" + _CAP + r"|-[a-z]+){1,3}\b", re.ASCII)
# Words that stand before a capital letter and a dot without being a first name (Vitamin D. Continue…).
NOT_FIRST_WORDS = {"Vitamin", "Vit", "Hepatitis", "Hep", "Type", "Grade", "Stage", "Class", "Lead", "Factor", "Group",
                   "Zone", "Phase", "Level", "Step", "Part", "Plan", "Section", "Note", "Figure", "Table", "Appendix",
                   "Schedule", "Category", "Tier", "Option", "Bed", "Room", "Ward", "Unit", "Block", "Wing", "Floor",
                   "Building", "Area", "Bay", "Item", "Line", "Channel", "Port", "Lumen", "Protein", "Complement",
                   "Segment", "Strain", "Serotype", "Gate", "Dose", "Day", "Week", "Cycle", "Arm", "Site", "Lot",
                   "Batch", "Version", "Model", "Size", "Score", "Point", "Column", "Row", "Box", "Tube", "Kit"}
# One part of an English name (O'Brien, McAllister, Nguyen) and a name: an initial or parts, middle initials allowed.
_EN_PART = r"(?:[A-Z]'[A-Z][a-z]+|[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:'[a-z]+)?)"
_EN_NAME = (r"(?:[A-Z]\. ?)?" + _EN_PART + r"(?:[ \-](?:[A-Z]\. )?" + _EN_PART + r"){0,2}")
EN_TITLE = re.compile(r"(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Nurse|Sister|Madam|Mdm)\.? ?(?P<n>" + _EN_NAME + ")", re.ASCII)
_EN_CUE_WORDS = (r"(?:[Pp]atient|[Pp]t|[Ww]ife|[Hh]usband|[Ss]on|[Dd]aughter|[Mm]other|[Ff]ather|[Bb]rother"
                    r"|[Ss]ister|[Nn]eighbou?r|[Ff]riend|[Cc]aregiver|[Cc]arer|[Gg]randdaughter|[Gg]randson|[Nn]ephew"
                    r"|[Nn]iece|[Aa]unt|[Uu]ncle|[Cc]olleague|[Nn]amed|[Cc]alled|[Cc]ontact|[Gg]uardian|[Nn]urse"
                    r"|[Dd]octor|[Pp]hysician|[Aa]ttending|[Rr]esident|[Nn]ame|[Ss]pouse|[Pp]artner|[Ww]earer"
                    r"|[Uu]ser|[Oo]wner|[Kk]in|[Ff]or|[Bb]y|GP|[Ss]urgeon|[Tt]herapist|[Pp]harmacist|[Ww]itness"
                    r"|[Ss]igned|[Cc]ounsell?or|[Ss]ocial worker|[Pp]aramedic|[Cc]lient|[Rr]esident)")
EN_CUE = re.compile(_EN_CUE_WORDS + r"[,:]? (?P<n>" + _EN_NAME + ")", re.ASCII)
_EN_CUE_BEFORE = re.compile(r"\b" + _EN_CUE_WORDS + r"[,:]? ?\(?$", re.ASCII)
# Lower-case pinyin (hu haoyi, dongfang jiong): two words, a surname and a given name, neither an English word.
LOWER_PINYIN = re.compile(r"(?<![A-Za-z'])(?=([a-z]{1,9}) ([a-z]{2,12})(?![A-Za-z']))", re.ASCII)
ENGLISH_SHORT_WORDS = {"she", "you", "her", "his", "him", "they", "them", "are", "was", "has", "had", "not", "but",
                       "for", "and", "the", "per", "via", "pain", "dose", "pen", "sun", "tan", "bed", "leg", "arm"}
# Forms that are names whatever the words: a middle initial (Nora M. Dubois), an initial and a surname (C. Fitzgerald).
EN_INITIALED = re.compile(r"(?!(?:" + "|".join(sorted(NOT_FIRST_WORDS)) + r") )[A-Z][a-z]+ [A-Z]\. " + _EN_PART
                          + r"|[A-Z]\. ?" + _EN_PART + r"(?![a-z])", re.ASCII)
EN_FULL = re.compile(r"(?:" + "|".join(EN_FIRST_NAMES) + r") " + _EN_PART + r"(?:-[A-Z][a-z]+)?\b", re.ASCII)
# EN_TITLE, EN_CUE and EN_FULL start at a word start; the \\b is checked by word_starts(), not in the pattern,
# so that re can skip ahead to the first letter of a cue instead of trying every position.
_WORD = re.compile(r"\w", re.ASCII)


def word_starts(regex: re.Pattern[str], t: str):
    """``regex.finditer(t)`` as if the pattern began with ``\\b`` (each of them starts with a word character)."""
    pos = 0
    while (m := regex.search(t, pos)) is not None:
        if m.start() and _WORD.match(t, m.start() - 1):
            pos = m.start() + 1
            continue
        yield m
        pos = max(m.end(), m.start() + 1)


EN_NOT_NAMES = {"Dr", "Mr", "Mrs", "Ms", "Miss", "Prof", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
                "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
                "The", "This", "That", "His", "Her", "Their", "He", "She", "They", "It", "Was", "Is", "Has", "Had",
                "Denies", "Reports", "Refused", "States", "Remains", "And", "With", "In", "On", "At", "Today",
                "Yesterday", "Tomorrow", "Unit", "Bed", "Room", "Ward", "Hospital", "Doctor", "Nurse", "Patient"}


def find(v: Views) -> list[Span]:
    t = v.folded
    spans: list[Span] = []
    if v.has_han:
        spans += _chinese(t)
        if MINORITY_ONE.search(t):
            spans += [Span(m.start(), m.end(), "name") for m in MINORITY.finditer(t)]
            spans += [Span(m.start(), m.end(), "name") for m in MINORITY_ONE.finditer(t)
                      if cue_before(t, m.start())]
        if _DOTS.search(t):
            spans += [Span(m.start(), m.end(), "name") for m in DOTTED.finditer(t)]
    if _UPPER.search(t):  # pinyin and English names start with a capital letter
        spans += _pinyin(t)
    if not t.isupper():
        spans += _lower_pinyin(t)
        spans += [Span(m.start(), m.end(), "name") for m in word_starts(EN_FULL, t) if _english_ok(m.group(0))]
        spans += [Span(m.start(), m.end(), "name") for m in word_starts(EN_INITIALED, t)
                  if _english_ok(m.group(0)) and _PREVIOUS_WORD.search(t, 0, m.start()) is None]
        for regex in (EN_TITLE, EN_CUE):
            spans += [Span(m.start("n"), m.end("n"), "name") for m in word_starts(regex, t)
                      if _english_ok(m.group("n"))]
    return spans


_DOTS = re.compile("[·•・．.]")
# An initial right after one of these words is a label's letter (Vitamin D. Continue, Type A. Blood), not a name.
_PREVIOUS_WORD = re.compile(r"\b(?:" + "|".join(sorted(NOT_FIRST_WORDS)) + r") $")
_UPPER = re.compile("[A-Z]")


def _english_ok(name: str) -> bool:
    return not any(part.rstrip(".") in EN_NOT_NAMES for part in re.split(r"[ \-]", name))


def _chinese(t: str) -> list[Span]:
    out: list[Span] = []
    last_end = -1
    pos = 0
    while (m := SURNAME_START.search(t, pos)) is not None:
        i = m.start()
        pos = i + 1
        if i < last_end or not (t[i] in _SINGLE or _COMPOUND_AT.match(t, i)):
            continue
        span = _chinese_at(t, i)
        if span is not None:
            out.append(span)
            last_end = span.end
    return out


def _surname_len(t: str, i: int) -> int:
    m = _COMPOUND_AT.match(t, i)
    return len(m.group(0)) if m else 1


def _given_len(t: str, j: int) -> int:
    """How many Han characters after the surname at ``j`` form a given name (0, 1 or 2)."""
    c1 = t[j:j + 1]
    if not c1 or not _HAN_CHAR.match(c1) or c1 in NOT_GIVEN or _TITLES.starts(t, j):
        return 0
    c2 = t[j + 1:j + 2]
    if not c2 or not _HAN_CHAR.match(c2) or c2 in NOT_GIVEN or _ENDS_NAME_WORDS.starts(t, j + 1):
        return 1
    return 2


def _chinese_at(t: str, i: int) -> Span | None:
    if _NOT_NAME_WORDS.starts(t, i):
        return None
    sl = _surname_len(t, i)
    surname = t[i:i + sl]
    cued = cue_before(t, i)
    if surname in FUNCTION_SURNAMES and not cued:
        return None
    g = _given_len(t, i + sl)
    if g == 0:
        # 聂医生, 王主任: the surname alone before a title is still a name.
        if _TITLES.starts(t, i + sl) and surname not in FUNCTION_SURNAMES \
                and (cued or surname not in WEAK_SURNAMES):
            return Span(i, i + sl, "name")
        return None
    end = i + sl + g
    if cued or _framed(t, i, end) or (_isolated(t, i, end) and (surname not in WEAK_SURNAMES or t[i + sl] in GIVEN_CHARS
                                                 or _delimited(t, i, end))):
        return Span(i, end, "name")
    if _TITLES.starts(t, end) or (_CUES_AFTER.starts(t, end)
                                          and (surname not in WEAK_SURNAMES or t[i + sl] in GIVEN_CHARS)):
        return Span(i, end, "name")
    if sl > 1 and surname not in RISKY_COMPOUNDS:
        return Span(i, end, "name")
    if g == 2 and surname not in WEAK_SURNAMES and t[i + 1] in GIVEN_CHARS and t[i + 2] in GIVEN_CHARS \
            and not _NOT_NAME_WORDS.starts(t, i + 1):
        return Span(i, end, "name")
    return None


def _isolated(t: str, i: int, end: int) -> bool:
    """A surname-led word standing alone between non-Han characters (alarm texts: "3床 秦涛 心率过高")."""
    before = t[i - 1:i]
    after = t[end:end + 1]
    return (not before or not _HAN_CHAR.match(before)) and (not after or not _HAN_CHAR.match(after)
                                                            or _CUES_AFTER.starts(t, end))


_DELIMITERS = " \t:,;、，；：|/[]()（）【】"
_OPENERS = ":：,，;；。 \n(（【[|"


def _framed(t: str, i: int, end: int) -> bool:
    """After a label or a break and before a word that follows names (手表告警：秦涛心率…, 9床 李娜诉头痛)."""
    return (i == 0 or t[i - 1] in _OPENERS) and (_ENDS_NAME_WORDS.starts(t, end) or _CUES_AFTER.starts(t, end))


def _delimited(t: str, i: int, end: int) -> bool:
    """Set off by spaces or punctuation on both sides, as a name field of an alarm text is."""
    return (i == 0 or t[i - 1] in _DELIMITERS) and (end == len(t) or t[end] in _DELIMITERS + "。.")


def _pinyin(t: str) -> list[Span]:
    out = []
    surnames = pinyin_surnames()
    for m in PINYIN_RUN.finditer(t):
        run = m.group(0)
        cuts = [0] + [k + 1 for k, c in enumerate(run) if c in " -"] + [len(run) + 1]
        windows = sorted(((a, b) for a in range(len(cuts)) for b in range(a + 2, len(cuts))
                          if run[cuts[a] - 1:cuts[a]] != "-"), key=lambda w: w[0] - w[1])
        for a, b in windows:
            if _pinyin_name(run[cuts[a]:cuts[b] - 1], surnames, after_cue=cue_before(t, m.start())):
                out.append(Span(m.start() + cuts[a], m.start() + cuts[b] - 1, "name"))
                break
    return out


def _lower_pinyin(t: str) -> list[Span]:
    """A surname and a given name in lower-case pinyin, after a cue (用户hu hao, contact pi kaihong) or with a
    given name of two syllables written together (xi yushu) that no English word spells."""
    out: list[Span] = []
    surnames = pinyin_surnames()
    english = PINYIN_WORDS_IN_ENGLISH | ENGLISH_SHORT_WORDS
    for m in LOWER_PINYIN.finditer(t):
        family, given = m.group(1), m.group(2)
        if (family not in surnames and family not in PINYIN_EXTRA_SURNAMES) or family in english \
                or given in english or not is_pinyin_given(given):
            continue
        start, end = m.start(1), m.end(2)
        if out and start < out[-1].end:
            continue
        cued = cue_before(t, start) or _EN_CUE_BEFORE.search(t, 0, start) is not None
        if cued or given not in syllables():
            out.append(Span(start, end, "name"))
    return out


def _pinyin_name(run: str, surnames: frozenset[str], after_cue=None) -> bool:
    """Surname first or last, the rest one or two syllables; a run of English words (He Long) only after a cue."""
    tokens = re.split(r"[ \-]", run)
    lowered = [x.lower() for x in tokens]
    if all(x in PINYIN_WORDS_IN_ENGLISH for x in lowered) and not run.isupper() and not after_cue:
        return False
    for s_index in (0, len(tokens) - 1):
        if lowered[s_index] in surnames or lowered[s_index] in PINYIN_EXTRA_SURNAMES:
            if is_pinyin_given("".join(x for k, x in enumerate(lowered) if k != s_index)):
                return True
    return False

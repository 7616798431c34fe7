"""Known values: the identifiers the vault holds for a patient and the people around them, matched in
text case-insensitively and across spaces, dashes, dots, middle dots and fullwidth forms, Chinese names
also in pinyin (both orders, with or without spaces). Whole tokens and whole names only: a known value
inside a longer ASCII token does not match, and a known Chinese name is widened to the whole name it
stands in (张建 inside 张建国), so no fragment is left. Pure; the values never reach a log or an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from deid.lexicon import COMPOUND_SURNAMES, GIVEN_CHARS, NOT_GIVEN, SINGLE_SURNAMES
from deid.pinyin import name_forms
from deid.text import DIGITS, HAN_RE, Span, is_word_char

_SKIP = set(" \t\r\n-._·•・/\\()（）[]【】,，'\"")
_SEP_RE = re.compile(r"[\s\-._·•・/\\()（）\[\]【】,，'\"]")
_COMPOUND = tuple(sorted(COMPOUND_SURNAMES, key=len, reverse=True))
# kinds a caller may give; anything else is treated as "id"
KNOWN_KINDS = ("name", "id", "phone", "email", "address", "org", "date", "account", "device")
_KIND_TO_SPAN = {"name": "name", "id": "record", "phone": "phone", "email": "email", "address": "address",
                 "org": "org", "date": "date", "account": "account", "device": "record"}


def normalize(value: str) -> str:
    """The matching form: digit/fullwidth folded, lower case, separators removed."""
    return _SEP_RE.sub("", value.translate(DIGITS)).lower()


def split_name(name: str) -> tuple[str, str]:
    """A Chinese full name → (family, given), compound surnames first; ('', '') when it is not one."""
    name = _SEP_RE.sub("", name)
    if not (2 <= len(name) <= 5) or not all(HAN_RE.match(c) for c in name):
        return "", ""
    if name.startswith(_COMPOUND) and len(name) >= 3:
        k = next(len(c) for c in _COMPOUND if name.startswith(c))
        return name[:k], name[k:]
    if name[0] in SINGLE_SURNAMES:
        return name[:1], name[1:]
    return "", ""


def expand(value: str, kind: str) -> list[str]:
    """A known value and the other spellings it is written in (pinyin of Chinese names, parts of a name)."""
    out = [value]
    if kind == "name":
        family, given = split_name(value)
        if family:
            out += name_forms(family, given)
            if len(given) >= 2:
                out.append(given)  # 娜娜: the given name alone, widened to the whole name when it stands in one
            if len(family) >= 2:
                out.append(family)
    return out


@dataclass
class KnownValues:
    """An Aho–Corasick automaton over the normalized known values of one patient."""

    automaton: ahocorasick.Automaton | None
    size: int

    @classmethod
    def build(cls, items: Iterable[tuple[str, str]]) -> KnownValues:
        """``items``: (value, kind) pairs; kind in KNOWN_KINDS. Values too short to be safe are skipped."""
        automaton = ahocorasick.Automaton()
        size = 0
        for value, kind in items:
            if not value or not value.strip():
                continue
            for form in expand(value.strip(), kind):
                key = normalize(form)
                if len(key) < (2 if HAN_RE.search(key) else 3):
                    continue
                span_kind = _KIND_TO_SPAN.get(kind, "record")
                if key not in automaton or span_kind == "name":
                    automaton.add_word(key, (len(key), span_kind))
                    size += 1
        if size == 0:
            return cls(None, 0)
        automaton.make_automaton()
        return cls(automaton, size)

    def find(self, text: str) -> list[Span]:
        if self.automaton is None:
            return []
        norm, index = _normalized_with_index(text)
        spans = []
        for end, (length, kind) in self.automaton.iter_long(norm):
            start, stop = index[end - length + 1], index[end] + 1
            if _whole(text, start, stop):
                spans.append(_widen(text, Span(start, stop, kind)))
        return spans


def _normalized_with_index(text: str) -> tuple[str, list[int]]:
    folded = text.translate(DIGITS).lower()
    chars, index = [], []
    for i, c in enumerate(folded):
        if c not in _SKIP:
            chars.append(c)
            index.append(i)
    return "".join(chars), index


def _whole(text: str, start: int, stop: int) -> bool:
    """ASCII values must not start or end inside a longer ASCII token (li inside lithium)."""
    before = text[start - 1] if start > 0 else ""
    after = text[stop] if stop < len(text) else ""
    if is_word_char(text[start]) and before and is_word_char(before):
        return False
    return not (is_word_char(text[stop - 1]) and after and is_word_char(after))


def _widen(text: str, span: Span) -> Span:
    """A Chinese name match grows to the whole name around it: a surname before, a given character after."""
    if span.kind != "name" or not HAN_RE.match(text[span.start]):
        return span
    start, stop = span.start, span.end
    for c in _COMPOUND:
        if text.endswith(c, 0, start):
            start -= len(c)
            break
    else:
        if start > 0 and text[start - 1] in SINGLE_SURNAMES and stop - start < 3 and _surname_led(text, start - 1):
            start -= 1
    if stop < len(text) and text[stop] in GIVEN_CHARS and text[stop] not in NOT_GIVEN and stop - start < 4:
        stop += 1
    return Span(start, stop, span.kind)


def _surname_led(text: str, i: int) -> bool:
    """A single surname directly before a given name, not a word ending (患者娜娜: 者 is no surname anyway)."""
    return i == 0 or not HAN_RE.match(text[i - 1]) or text[i - 1] in NOT_GIVEN or text[i - 1] in "者人属妻夫子女"

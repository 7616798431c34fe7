"""Character folding that keeps offsets: every fold maps one character to one character, so a span found
in a folded text cuts the original text at the same indexes. Pure, no I/O."""

from __future__ import annotations

import re
from typing import NamedTuple

_FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
_FULLWIDTH["\u3000"] = " "
_FULLWIDTH["\u00a0"] = " "
for _dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212":  # hyphens, en and em dashes, minus: one "-"
    _FULLWIDTH[_dash] = "-"
# Fullwidth → ASCII (letters, digits, punctuation), ideographic spaces → space, dashes → '-'.
FOLD = str.maketrans(_FULLWIDTH)
# As FOLD, and Chinese digits written one by one (一三八〇〇一三八〇〇〇, 二〇二五年) → ASCII digits.
_HAN_DIGITS = {"〇": "0", "零": "0", "○": "0", "Ｏ": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4",
               "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
DIGITS = str.maketrans({**_FULLWIDTH, **_HAN_DIGITS})
HAN = "\u4e00-\u9fff"
HAN_RE = re.compile(f"[{HAN}]")
DIGIT_RE = re.compile(r"[0-9０-９〇零一二三四五六七八九]")


class Span(NamedTuple):
    """Half-open ``[start, end)`` character range of ``kind`` (see deid.kinds) in the text it was found in."""

    start: int
    end: int
    kind: str
    value: str | None = None  # a replacement computed by the detector (a shifted date), else None


class Views(NamedTuple):
    """The text and its folded views, all of the same length."""

    text: str
    folded: str
    digits: str
    has_han: bool
    has_digit: bool


_NEEDS_FOLD = re.compile("[\uff01-\uff5e\u3000\u00a0\u2010-\u2015\u2212]")
_NEEDS_DIGITS = re.compile("[\uff01-\uff5e\u3000\u00a0\u2010-\u2015\u2212〇零○一幺二三四五六七八九]")
_ASCII_DIGIT = re.compile("[0-9]")


def views(text: str) -> Views:
    # translate() looks every character up in a dict: skip it when no character would change (the same views)
    if text.isascii():
        return Views(text, text, text, False, _ASCII_DIGIT.search(text) is not None)
    folded = text.translate(FOLD) if _NEEDS_FOLD.search(text) else text
    digits = text.translate(DIGITS) if _NEEDS_DIGITS.search(text) else text
    return Views(text, folded, digits, HAN_RE.search(text) is not None, DIGIT_RE.search(text) is not None)


GATED = True  # False runs every detector on every text (tests prove the cheap pre-tests change no span)


def gate(found: object) -> bool:
    """A cheap pre-test's verdict: True when a detector it guards may match (always True when not GATED)."""
    return bool(found) or not GATED


class Words:
    """Literal words asked "does one start (or end) at index i": a set look-up per word length, where
    ``str.startswith(tuple)`` compares with every word in turn (hundreds of cue words, per candidate)."""

    __slots__ = ("lengths", "words")

    def __init__(self, words) -> None:
        self.words = frozenset(words)
        self.lengths = sorted({len(w) for w in self.words})

    def starts(self, t: str, i: int) -> bool:
        return any(t[i:i + k] in self.words for k in self.lengths)

    def ends(self, t: str, i: int) -> bool:
        return any(k <= i and t[i - k:i] in self.words for k in self.lengths)


def alternation(words) -> str:
    """A regex alternation of literal words, longest first (so 护士长 wins over 护士)."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def han_class_without(chars: str) -> str:
    """The body of a character class: every CJK unified ideograph except ``chars`` (a plain class is far
    faster in ``re`` than a negative lookahead before each character)."""
    excluded = sorted({ord(c) for c in chars if 0x4E00 <= ord(c) <= 0x9FFF})
    ranges, start = [], 0x4E00
    for code in excluded + [0xA000]:
        if code > start:
            ranges.append(f"{chr(start)}-{chr(code - 1)}" if code - 1 > start else chr(start))
        start = code + 1
    return "".join(ranges)


def is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()

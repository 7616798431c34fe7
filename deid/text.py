"""Character folding that keeps offsets: every fold maps one character to one character, so a span found
in a folded text cuts the original text at the same indexes. Pure, no I/O."""

from __future__ import annotations

import re
from typing import NamedTuple

_FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
_FULLWIDTH["\u3000"] = " "
_FULLWIDTH["\u00a0"] = " "
# Fullwidth → ASCII (letters, digits, punctuation) and ideographic spaces → space.
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


def views(text: str) -> Views:
    folded = text.translate(FOLD)
    return Views(text, folded, text.translate(DIGITS), HAN_RE.search(text) is not None,
                 DIGIT_RE.search(text) is not None)


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

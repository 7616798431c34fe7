"""Pinyin: the syllable inventory, the pinyin of the surname list (computed with pypinyin, once), and
the pinyin forms of a Chinese name (both orders; spaces are ignored by the known-value matcher)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from deid.lexicon import COMPOUND_SURNAMES, SINGLE_SURNAMES

# Syllables that are also common English words: a run made of these alone (He Long) is not taken for a name.
PINYIN_WORDS_IN_ENGLISH = {"he", "long", "fan", "bo", "an", "ma", "men", "hang", "ban", "can", "die", "gang",
                           "hen", "ken", "lie", "pan", "ran", "tang", "sun", "sang", "sung", "tan", "wan", "pie",
                           "tie", "hue", "yang", "bang", "gun", "run", "pen", "den", "zen", "bin", "pin", "tin",
                           "fin", "din", "kin", "sin", "win", "ping", "ring", "sing", "wing", "king", "ding", "bing",
                           "ming", "a", "o", "e", "me", "we", "no", "so", "to", "go", "dong", "hong", "song", "kong",
                           "bus", "man", "chin", "shin", "shun", "lung", "dun", "pun", "mao", "hi", "li", "lo"}
_CAPITALIZED_ENGLISH = {"heart", "rate", "blood", "pressure"}


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable of pypinyin's character dictionary (ü written v)."""
    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            plain = unicodedata.normalize("NFKD", reading).encode("ascii", "ignore").decode()
            if plain.isalpha() and len(plain) > 1:
                out.add(plain.lower().replace("u:", "v"))
    out.update({"lv", "nv", "lve", "nve"})
    return frozenset(out)


def is_pinyin_given(word: str) -> bool:
    """One or two pinyin syllables, written together (xiaoming) or apart (already joined by the caller)."""
    syl = syllables()
    if word in syl:
        return True
    return any(word[:k] in syl and word[k:] in syl for k in range(1, len(word)))


@lru_cache(maxsize=1)
def pinyin_surnames() -> frozenset[str]:
    from pypinyin import Style, lazy_pinyin

    out = {"".join(lazy_pinyin(s, style=Style.NORMAL)) for s in COMPOUND_SURNAMES}
    out.update(lazy_pinyin(c, style=Style.NORMAL)[0] for c in SINGLE_SURNAMES)
    out.update({"lv", "lu"})
    return frozenset(x.replace("ü", "v") for x in out if x.isascii())


def name_forms(family: str, given: str) -> list[str]:
    """A Chinese name's pinyin in both orders (spaces and case are ignored by the matcher)."""
    from pypinyin import Style, lazy_pinyin

    if not family or not given:
        return []
    fam = "".join(lazy_pinyin(family, style=Style.NORMAL, v_to_u=False)).replace("ü", "v")
    giv = "".join(lazy_pinyin(given, style=Style.NORMAL, v_to_u=False)).replace("ü", "v")
    if not (fam.isascii() and giv.isascii()):
        return []
    return [fam + " " + giv, giv + " " + fam]

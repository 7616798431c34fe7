"""The scrubber's fast paths are pinned to plain references: the cheap pre-tests (deid.text.gate) change no
span on the evaluation texts and generated notes, and the phone fast path accepts exactly what parsing
with phonenumbers accepts."""

import random
import re

import phonenumbers
import pytest

import deid.text
from deid import KnownValues, detect
from deid.evalgen import generate
from deid.evaluation import load
from deid.numbers import phone_valid


def _corpus() -> list[str]:
    texts = [r["text"] for r in load("all")]
    texts += [r["text"] for split in ("dev", "heldout") for r in generate(split, 31, 200)]
    rng = random.Random(3)
    texts += ["".join(rng.sample(texts, 3))[rng.randrange(0, 40):][:200] for _ in range(400)]  # cut mid-value
    return texts


def test_gates_change_no_span(monkeypatch):
    known = KnownValues.build([("欧阳娜娜", "name"), ("110105196105121221", "id"), ("13800138000", "phone")])
    texts = _corpus()
    gated = [(detect(t), detect(t, known, 17)) for t in texts]
    monkeypatch.setattr(deid.text, "GATED", False)
    ungated = [(detect(t), detect(t, known, 17)) for t in texts]
    assert sum(a != b for a, b in zip(gated, ungated, strict=True)) == 0


def test_a_gate_can_fail():
    """The comparison above can see a difference: a gate that skips everything loses spans."""
    assert deid.text.gate(None) is False and deid.text.gate("x") is True


def _parsed(raw: str) -> bool:
    digits = re.sub(r"[^0-9]", "", raw)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
    try:
        number = phonenumbers.parse(digits if digits.startswith(("0", "1")) else "0" + digits, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


@pytest.mark.parametrize("seed", [1, 2])
def test_phone_fast_path_agrees_with_parsing(seed):
    rng = random.Random(seed)
    prefixes = ["0", "1", "2", "8", "13", "15", "18", "17951", "010", "0755", "86", "+86", "0086", "12", "11", "00"]
    for _ in range(5_000):
        raw = rng.choice(prefixes) + "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(4, 15)))
        assert phone_valid(raw) == _parsed(raw)


def test_cue_before_agrees_with_its_regex():
    from deid.names import CUE_BEFORE_END, cue_before

    texts = _corpus()[:600] + ["患者\n王伟", "家属：\n李娜", "主任医师 张", "由\n\n赵", "副主任医师，刘"]
    for t in texts:
        for i in range(len(t) + 1):
            assert cue_before(t, i) == (CUE_BEFORE_END.search(t[max(0, i - 7):i]) is not None), (i, len(t))

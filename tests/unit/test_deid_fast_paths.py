"""The scrubber's fast paths are pinned to plain references: the cheap pre-tests (deid.text.gate) change no
span on the evaluation texts and generated notes, and the cue test agrees with its regex."""

import random

import deid.text
from deid import KnownValues, detect
from deid.evalgen import generate
from deid.evaluation import load


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


def test_cue_before_agrees_with_its_regex():
    from deid.names import CUE_BEFORE_END, cue_before

    texts = _corpus()[:600] + ["患者\n王伟", "家属：\n李娜", "主任医师 张", "由\n\n赵", "副主任医师，刘"]
    for t in texts:
        for i in range(len(t) + 1):
            assert cue_before(t, i) == (CUE_BEFORE_END.search(t[max(0, i - 7):i]) is not None), (i, len(t))

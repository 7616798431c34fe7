"""Fail-closed scrubbing of one text (orchestration/warehouse/scrubbed_texts.py), without a database."""

import orchestration.warehouse.scrubbed_texts as scrubbed
from deid import KnownValues


def test_known_items_map_vault_tags_to_kinds():
    items = scrubbed.known_items('{"钱多多": "[NAME]", "13987654321": "[PHONE]", "SN1": "[DEVICE]", "X1": "[ID]"}')
    assert dict(items) == {"钱多多": "name", "13987654321": "phone", "SN1": "device", "X1": "id"}
    assert scrubbed.known_items(None) == []


def test_scrub_one_uses_known_values_and_shift():
    known = KnownValues.build(scrubbed.known_items('{"钱多多": "[NAME]"}'))
    text, reason = scrubbed.scrub_one("QIAN DUODUO 与钱多多，2025年1月28日入院", known, 3)
    assert reason is None and text == "[NAME] 与[NAME]，[DATE 2025-01-31]入院"


def test_scrub_one_withholds_on_error_timeout_and_size(monkeypatch):
    known = KnownValues.build([])

    def broken(text, known, shift):
        raise ValueError("never shown")

    assert scrubbed.scrub_one("x", known, None, broken) == (None, "error")
    assert scrubbed.scrub_one("x" * (scrubbed.MAX_CHARS + 1), known, None) == (None, "too_long")
    monkeypatch.setattr(scrubbed, "TIME_BUDGET_S", -1.0)
    assert scrubbed.scrub_one("x", known, None) == (None, "timeout")


def test_the_scan_ignores_only_dates_the_scrubber_shifted():
    """Published shifted dates are not findings; a real date beside them still is (the scan fails on it)."""
    from orchestration.scan import _Tally

    tally = _Tally()
    tally.add("note_text", None, "入院[DATE 2025-02-22]，复查[DATE --03-11]", pseudonym=False)
    assert not tally.hits
    tally.add("note_text", None, "入院[DATE 2025-02-22]，出生1949-12-31", pseudonym=False)
    assert tally.hits[("note_text", None)]["date"] == 1


HOSTILE = "Ab " * 6000  # 18,000 characters on which the English-name patterns scan quadratically (~0.1 s idle)


def test_a_runaway_pattern_is_interrupted_and_withheld(monkeypatch):
    """A scrubber stuck in catastrophic backtracking is stopped at the budget, not waited for."""
    import re

    monkeypatch.setattr(scrubbed, "TIME_BUDGET_S", 0.3)

    def backtracking(text, known, shift):  # 2**40 paths: would run for hours
        return re.sub(r"(a+)+$", "", text)

    # "timeout" is only returned by the alarm: a scrubber left to run would not return for hours
    assert scrubbed.scrub_one("a" * 40 + "b", KnownValues.build([]), None, backtracking) == (None, "timeout")


def test_a_hostile_note_is_interrupted_by_the_real_scrubber(monkeypatch):

    monkeypatch.setattr(scrubbed, "TIME_BUDGET_S", 0.002)  # far below what this note costs, on any machine
    assert scrubbed.scrub_one(HOSTILE, KnownValues.build([]), None) == (None, "timeout")
    assert scrubbed.scrub_one("患者张伟", KnownValues.build([]), None) == ("患者[NAME]", None)  # no alarm left armed


def test_outside_the_main_thread_the_limit_measures_instead(monkeypatch):
    """Signals reach the main thread only: elsewhere a slow text is still withheld, once it has finished."""
    import threading

    monkeypatch.setattr(scrubbed, "TIME_BUDGET_S", 0.05)
    result = []

    def slow(text, known, shift):
        import time

        time.sleep(0.2)
        return text

    worker = threading.Thread(target=lambda: result.append(scrubbed.scrub_one("x", KnownValues.build([]), None, slow)))
    worker.start()
    worker.join(10)
    assert result == [(None, "timeout")]

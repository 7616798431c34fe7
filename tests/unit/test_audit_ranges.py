"""The pure parts of `wardflow audit verify`: how problems become ranges, and what the anchor adds."""

from __future__ import annotations

from orchestration.audit import anchor_problems, ranges


def test_consecutive_ids_with_one_problem_merge_and_others_stay_apart() -> None:
    found = [(3, "altered"), (4, "altered"), (5, "removed"), (9, "altered"), (4, "altered")]
    assert ranges(found) == [{"first": 3, "last": 4, "problem": "altered"},
                             {"first": 5, "last": 5, "problem": "removed"},
                             {"first": 9, "last": 9, "problem": "altered"}]


def test_anchor_beyond_the_database_is_a_removed_tail() -> None:
    hashes = {1: b"a", 2: b"b"}
    anchors = [{"event_id": 2, "hash": b"b"}, {"event_id": 5, "hash": b"e"}]
    assert ranges(anchor_problems(anchors, hashes)) == [{"first": 3, "last": 5, "problem": "tail_removed"}]


def test_anchor_with_another_hash_and_no_anchor_at_all() -> None:
    assert anchor_problems([{"event_id": 2, "hash": b"x"}], {1: b"a", 2: b"b"}) == [(2, "anchor_mismatch")]
    assert anchor_problems([], {1: b"a"}) == []

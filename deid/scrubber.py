"""The scrubber: every detector plus the patient's known values, overlapping spans merged (so a value is
never cut in two), each span replaced by its typed tag; dates that parse are written shifted by the
patient's offset. ``VERSION`` changes whenever a change may scrub differently (the pipeline records it per
row and re-scrubs on a change). Pure: no I/O, nothing logged; errors carry no text."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from deid import dates, names, numbers, places
from deid.kinds import PRIORITY, tag
from deid.known import KnownValues
from deid.text import Span, views

VERSION = "deid-v2"  # not date-shaped: it is recorded in audit events that scans search
_RANK = {kind: i for i, kind in enumerate(PRIORITY)}
_NO_KNOWN = KnownValues(None, 0)


def detect(text: str, known: KnownValues | None = None, shift_days: int | None = None) -> list[Span]:
    """Non-overlapping spans in text order (overlaps merged; the merged span keeps the kind of the longest, then highest-priority, part)."""
    if not text:
        return []
    v = views(text)
    found = (known or _NO_KNOWN).find(text)
    found += numbers.find(v)
    lowered = v.folded.lower()
    if "@" in lowered or " at " in lowered or "(at)" in lowered or "[at]" in lowered or "#" in lowered:
        found += numbers.find_email(v)
    found += dates.find(v, shift_days)
    found += names.find(v)
    found += places.find(v)
    return merge(found)


def merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if not out or span.start >= out[-1].end:
            out.append(span)
            continue
        last = out[-1]
        # the longer span names the merged one (an address that holds a name-like word stays an address)
        keep = min((last, span), key=lambda s: (s.start - s.end, _RANK[s.kind]))
        start, end = last.start, max(last.end, span.end)
        # a computed replacement (a shifted date) survives only if it covers the whole merged span
        value = keep.value if (keep.start, keep.end) == (start, end) else None
        out[-1] = Span(start, end, keep.kind, value)
    return out


def render(text: str, spans: list[Span]) -> str:
    parts, last = [], 0
    for span in spans:
        parts += [text[last:span.start], span.value or tag(span.kind)]
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


@lru_cache(maxsize=1)
def warm_up() -> None:
    """Load what the detectors load lazily (pinyin tables, numbering plans), so that the first real text is
    not charged for it under a time limit. The warm-up text is made up."""
    known = KnownValues.build([("张伟", "name"), ("13800138000", "phone")])
    scrub("Zhang Wei 张伟 13800138000 010-8888 6666 2025年1月28日 Jan 28, 2025 92岁 北京市建国路88号", known, 1)


def scrub(text: str, known: KnownValues | None = None, shift_days: int | None = None) -> str:
    """The text with every detected or known identifier replaced by its tag (dates shifted where they parse)."""
    if not text:
        return text
    return render(text, detect(text, known, shift_days))

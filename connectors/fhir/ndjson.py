"""NDJSON (FHIR Bulk Data): one resource per line, read line by line so a large file is never held whole.

Blank lines are skipped (they still count for line numbers). A line that is not a JSON object is
rejected on its own (rule ``ndjson.line``) and reading goes on. A Bundle on a line is unpacked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from connectors.fhir.bundles import emit_object
from connectors.fhir.emit import Context, Record, Where, reject

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class TooLong:
    """A line over the size limit: its first bytes and its whole size (the rest was never held)."""

    head: bytes = field(repr=False)
    size: int


def read_ndjson(lines: Iterable[bytes | TooLong], validate: str, max_bytes: int | None = None) -> Iterator[Record]:
    """Records for each non-blank line; ``position`` is the 1-based line number."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, TooLong):
            problem = f"{line.size} bytes, over the limit of {max_bytes} bytes per line"
            yield reject("input.too_large", f"line {number}", problem, line.head, number)
            continue
        text = (line.removeprefix(BOM) if number == 1 else line).strip()
        if not text:
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            yield reject("ndjson.line", f"line {number}", f"invalid JSON at column {err.colno}", text, number)
            continue
        if not isinstance(value, dict):
            yield reject("ndjson.line", f"line {number}", "not a JSON object", text, number)
            continue
        yield from emit_object(
            value, text, Context(validate=validate, where=Where(line=number), position=number)
        )

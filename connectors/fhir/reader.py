"""Entry point: FHIR input of any supported form → FhirResource / FhirReject records.

Forms: a JSON resource, a JSON Bundle (any type; unpacked), NDJSON (streamed line by line) and FHIR
XML (converted to JSON, see ``xmlconv.py``). The form comes from the content (``<`` is XML), then the
name hint (``.ndjson``/``.jsonl`` is NDJSON, so that a bad first line is rejected alone), then sniffing:
a first line holding a whole JSON object followed by more content is NDJSON, anything else one JSON
document. No data problem escapes as an exception: each becomes a
FhirReject whose rule, path and message never quote the input. With ``max_bytes``, a JSON or XML document
or an NDJSON line over that size is rejected (rule ``input.too_large``, its head kept) without being read whole.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

import orjson

from connectors.fhir.bundles import emit_object
from connectors.fhir.emit import MODES, Context, Record, reject
from connectors.fhir.ndjson import BOM, TooLong, read_ndjson

_NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_JSON_RESOURCE_RE = re.compile(rb'"resourceType"\s*:\s*"')
_FHIR_XMLNS_RE = re.compile(rb"""<[A-Za-z][A-Za-z0-9]*\s[^>]*\bxmlns\s*=\s*["']http://hl7\.org/fhir["']""")


def read_fhir(data: bytes | BinaryIO, *, name_hint: str = "", validate: str = "lenient",
              max_bytes: int | None = None) -> Iterator[Record]:
    """Yield one record per resource found in ``data`` (Bundles unpacked) or per rejected piece.

    ``validate`` is "lenient" (default: known R4 resourceType and well-shaped fields that wardflow
    extracts) or "strict" (also full validation against fhir.resources R4B). ``name_hint`` (a file
    name) only marks NDJSON by its suffix; it never appears in records or logs (names may be personal).
    """
    if validate not in MODES:
        raise ValueError(f"validate must be one of {MODES}")
    stream: BinaryIO = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if not isinstance(stream.read(0), bytes):
        raise TypeError("data must be bytes or a binary stream")
    return _read(stream, name_hint.lower(), validate, max_bytes)


def looks_like_fhir(head: bytes) -> bool:
    """Whether the first bytes of an input look like FHIR: JSON/NDJSON with a resourceType, or FHIR XML."""
    text = head.removeprefix(BOM).lstrip()
    if text.startswith(b"{"):
        return _JSON_RESOURCE_RE.search(text) is not None
    if text.startswith(b"<"):
        return _FHIR_XMLNS_RE.search(text) is not None
    return False


def _read(stream: BinaryIO, hint: str, validate: str, max_bytes: int | None = None) -> Iterator[Record]:
    consumed: list = []  # lines read while sniffing the form (bytes, or TooLong)
    lines = _Lines(stream, max_bytes)
    first = _next_content_line(lines, consumed)
    if first is None:
        if not hint.endswith(_NDJSON_SUFFIXES):  # an empty bulk file is a valid export of nothing
            yield reject("input.empty", "$", "no content", b"".join(consumed), 0)
        return
    form = _form(first, hint) if lines.over is None else ("ndjson" if hint.endswith(_NDJSON_SUFFIXES) else "json")
    if form == "ndjson?":
        form = "ndjson" if _next_content_line(lines, consumed) is not None else "json"
    if form == "ndjson":
        yield from read_ndjson(chain(consumed, lines), validate, max_bytes)
        return
    raw = b"".join(c.head if isinstance(c, TooLong) else c for c in consumed) + (stream.read() if max_bytes is None else stream.read(max_bytes + 1))
    if max_bytes is not None and (len(raw) > max_bytes or lines.over is not None):
        size = len(raw) + lines.skipped + _drain(stream)
        yield reject("input.too_large", "$", f"{size} bytes, over the limit of {max_bytes} bytes per document",
                     raw[:max_bytes], 0)
    elif form == "xml":
        from connectors.fhir.xmlconv import read_xml

        yield from read_xml(raw, validate)
    else:
        yield from _read_json(raw, validate)


class _Lines:
    """Lines of a stream, each read with at most ``max_bytes + 1`` bytes held: a longer line is yielded as
    ``TooLong`` (its head and size) and the rest of it skipped."""

    def __init__(self, stream: BinaryIO, max_bytes: int | None) -> None:
        self.stream, self.max_bytes = stream, max_bytes
        self.over: TooLong | None = None  # the first over-long line met
        self.skipped = 0

    def __iter__(self) -> Iterator[bytes | TooLong]:
        return self

    def __next__(self) -> bytes | TooLong:
        limit = -1 if self.max_bytes is None else self.max_bytes + 1
        line = self.stream.readline(limit)
        if not line:
            raise StopIteration
        if self.max_bytes is None or len(line) <= self.max_bytes or line.endswith(b"\n"):
            return line
        rest = _drain(self.stream, until_newline=True)
        self.skipped += rest
        long_line = TooLong(line[:self.max_bytes], len(line) + rest)
        self.over = self.over or long_line
        return long_line


def _drain(stream: BinaryIO, *, until_newline: bool = False) -> int:
    """Skip to the end of the stream (or of the current line); returns how many bytes were skipped."""
    skipped = 0
    while True:
        chunk = stream.readline(1 << 20) if until_newline else stream.read(1 << 20)
        skipped += len(chunk)
        if not chunk or (until_newline and chunk.endswith(b"\n")):
            return skipped


def _next_content_line(stream: Iterator[bytes | TooLong], consumed: list) -> bytes | None:
    """Read up to and including the next non-blank line (kept in ``consumed``); None at the end."""
    for line in stream:
        if isinstance(line, TooLong):
            consumed.append(line)
            return line.head
        if not consumed:
            line = line.removeprefix(BOM)
        consumed.append(line)
        if line.strip():
            return line
    return None


def _form(first: bytes, hint: str) -> str:
    text = first.strip()
    if text.startswith(b"<"):
        return "xml"
    if hint.endswith(_NDJSON_SUFFIXES):
        return "ndjson"
    if not (text.startswith(b"{") and text.endswith(b"}")):
        return "json"
    try:
        return "ndjson?" if isinstance(orjson.loads(text), dict) else "json"
    except orjson.JSONDecodeError:
        return "json"


def _read_json(raw: bytes, validate: str) -> Iterator[Record]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        yield reject("json.syntax", "$", f"invalid JSON at line {err.lineno}, column {err.colno}", raw, 0)
        return
    if not isinstance(value, dict):
        yield reject("json.not_object", "$", "the document is not a JSON object", raw, 0)
        return
    yield from emit_object(value, raw, Context(validate=validate))

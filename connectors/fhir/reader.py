"""Entry point: FHIR input of any supported form → FhirResource / FhirReject records.

Forms: a JSON resource, a JSON Bundle (any type; unpacked), NDJSON (streamed line by line) and FHIR
XML (converted to JSON, see ``xmlconv.py``). The form comes from the content (``<`` is XML), then the
name hint (``.ndjson``/``.jsonl`` is NDJSON, so that a bad first line is rejected alone), then sniffing:
a first line holding a whole JSON object followed by more content is NDJSON, anything else one JSON
document. No data problem escapes as an exception: each becomes a
FhirReject whose rule, path and message never quote the input.
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
from connectors.fhir.ndjson import BOM, read_ndjson

_NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_JSON_RESOURCE_RE = re.compile(rb'"resourceType"\s*:\s*"')
_FHIR_XMLNS_RE = re.compile(rb"""<[A-Za-z][A-Za-z0-9]*\s[^>]*\bxmlns\s*=\s*["']http://hl7\.org/fhir["']""")


def read_fhir(data: bytes | BinaryIO, *, name_hint: str = "", validate: str = "lenient") -> Iterator[Record]:
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
    return _read(stream, name_hint.lower(), validate)


def looks_like_fhir(head: bytes) -> bool:
    """Whether the first bytes of an input look like FHIR: JSON/NDJSON with a resourceType, or FHIR XML."""
    text = head.removeprefix(BOM).lstrip()
    if text.startswith(b"{"):
        return _JSON_RESOURCE_RE.search(text) is not None
    if text.startswith(b"<"):
        return _FHIR_XMLNS_RE.search(text) is not None
    return False


def _read(stream: BinaryIO, hint: str, validate: str) -> Iterator[Record]:
    consumed: list[bytes] = []
    first = _next_content_line(stream, consumed)
    if first is None:
        if not hint.endswith(_NDJSON_SUFFIXES):  # an empty bulk file is a valid export of nothing
            yield reject("input.empty", "$", "no content", b"".join(consumed), 0)
        return
    form = _form(first, hint)
    if form == "ndjson?":
        form = "ndjson" if _next_content_line(stream, consumed) is not None else "json"
    if form == "ndjson":
        yield from read_ndjson(chain(consumed, stream), validate)
        return
    raw = b"".join(consumed) + stream.read()
    if form == "xml":
        from connectors.fhir.xmlconv import read_xml

        yield from read_xml(raw, validate)
    else:
        yield from _read_json(raw, validate)


def _next_content_line(stream: BinaryIO, consumed: list[bytes]) -> bytes | None:
    """Read up to and including the next non-blank line (kept in ``consumed``); None at the end."""
    for line in iter(stream.readline, b""):
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

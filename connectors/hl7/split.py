"""Split an HL7 v2 file or byte stream into messages, batch envelope lines and junk. Pure, no I/O.

Works on bytes (CR and LF are never part of a multi-byte character in the HL7 charsets, GB 18030
included), streams chunk by chunk, and drops nothing: every non-blank byte ends up in a ``Piece``.

Rules, line by line (a line ends at CR, LF or CRLF):

* A line starting with ``MSH`` + a delimiter (optionally after a BOM or an MLLP start byte) starts a
  message. The message runs to the next message start or envelope line.
* ``FHS``/``BHS``/``BTS``/``FTS`` lines are envelope pieces of their own (``file_header``,
  ``batch_header``, ``batch_trailer``, ``file_trailer``); they are not messages but can be counted.
* Blank lines (spaces, tabs, BOMs, MLLP bytes only) end a message, unless the next non-blank line looks
  like one of its segments (``[A-Z][A-Z0-9]{2}`` + its field separator): senders that emit blank lines
  between segments keep their message whole.
* Anything else before the first message, after a blank line or after an envelope line is ``junk``, up
  to the next message start or envelope line, for the caller to reject with a reason (comment lines,
  uuencoded payloads...). A non-segment line *inside* a message stays in it: the parser rejects the whole
  message (``segment.id.invalid``) rather than silently cutting it.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import BinaryIO

_BOM = b"\xef\xbb\xbf"
_BLANK = b" \t\x0b\x1c"          # spaces, tabs and stray MLLP bytes do not make a line non-blank
_TRIM = b" \t\r\n\x0b\x1c"
_ENVELOPES = {b"FHS": "file_header", b"BHS": "batch_header", b"BTS": "batch_trailer", b"FTS": "file_trailer"}
_DELIMITER_BYTES = frozenset(c for c in range(0x21, 0x7F) if not chr(c).isalnum())
_LINE = re.compile(rb"([^\r\n]*)(\r\n|\r|\n|\Z)")
_SEGMENT_ID = re.compile(rb"[A-Z][A-Z0-9]{2}")
_HEAD = itemgetter(slice(0, 3))


@dataclass(slots=True, repr=False)
class Piece:
    """One item of a file: ``kind`` is 'message', 'junk', 'file_header', 'batch_header', 'batch_trailer'
    or 'file_trailer'; ``data`` the exact bytes (without the final line terminator); ``offset`` the
    position of ``data`` in the whole input."""

    kind: str
    data: bytes
    offset: int
    size: int = 0  # 'too_large' only: the size of the whole piece, of which ``data`` holds the head

    def __repr__(self) -> str:  # sizes only, never content
        return f"Piece({self.kind}, offset={self.offset}, {len(self.data)} bytes)"


_TAIL = 8  # bytes kept while skipping an over-size piece: a message start may straddle two chunks


def split_messages(source: bytes | bytearray | memoryview | BinaryIO | Iterable[bytes], *,
                   chunk_size: int = 1 << 20, max_message_bytes: int | None = None) -> Iterator[Piece]:
    """Pieces of ``source`` (bytes, a binary file object, or an iterable of byte chunks), in order.
    A stream is read ``chunk_size`` bytes at a time and memory holds one chunk plus the current message,
    so a 1 GB file is never loaded at once; bytes already in memory are sliced, not copied. With
    ``max_message_bytes``, a streamed piece that grows past it is yielded once as ``too_large`` (its first
    ``max_message_bytes`` bytes and its whole size) and the rest of it is skipped up to the next message
    start, so memory stays bounded whatever a sender writes (bytes given whole are the caller's to check)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        yield from _pieces(data, 0, len(data), 0, final=True)
        return
    buf, base = bytearray(), 0
    chunks = iter(lambda: source.read(chunk_size), b"") if hasattr(source, "read") else iter(source)
    scan = 1
    skipping: Piece | None = None
    for chunk in chunks:  # type: ignore[attr-defined]
        buf += chunk
        if skipping is not None:
            nxt = _next_start(buf, 1)
            if nxt < 0:
                base += _drop_head(buf, skipping, len(buf) - _TAIL)
                continue
            base += _drop_head(buf, skipping, nxt)
            yield skipping
            skipping, scan = None, 1
        pos, scan = yield from _pieces(buf, 0, len(buf), base, final=False, scan=scan)
        if pos:
            del buf[:pos]
            base, scan = base + pos, max(scan - pos, 1)
        if max_message_bytes and len(buf) > max_message_bytes:
            skipping = Piece("too_large", bytes(buf[:max_message_bytes]), base)
            base += _drop_head(buf, skipping, len(buf) - _TAIL)
    if skipping is not None:
        skipping.size += len(buf)
        yield skipping
        return
    yield from _pieces(buf, 0, len(buf), base, final=True)


def _drop_head(buf: bytearray, skipping: Piece, n: int) -> int:
    """Drop the first ``n`` bytes of ``buf`` as part of the over-size piece being skipped; returns ``n``."""
    n = max(n, 0)
    skipping.size += n
    del buf[:n]
    return n


def _pieces(buf: bytes | bytearray, pos: int, end: int, base: int, *, final: bool,
            scan: int = 1) -> Generator[Piece, None, tuple[int, int]]:
    """Yield the regions of buf[pos:end] that are complete; return (start of the pending region,
    where to resume the search for the next message start)."""
    while True:
        nxt = _next_start(buf, max(scan, pos + 1))
        if nxt < 0:
            if final:
                yield from _region(buf, pos, end, base)
                return end, end
            return pos, max(pos + 1, len(buf) - 4 if nxt == -1 else -nxt - 2)
        yield from _region(buf, pos, nxt, base)
        pos, scan = nxt, nxt + 1


def _next_start(buf: bytes | bytearray, start: int) -> int:
    """Offset of the next line-initial 'MSH'+delimiter at or after ``start``; -1 if none, or
    -(i + 2) if one may start at i but the buffer ends before its field separator."""
    while True:
        i = buf.find(b"MSH", start)
        if i < 0:
            return -1
        before = buf[i - 1] if i else 10
        if before in (10, 13, 11) or (buf[i - 3:i] == _BOM and (i == 3 or buf[i - 4] in (10, 13, 11))):
            if i + 3 >= len(buf):
                return -(i + 2)
            if buf[i + 3] in _DELIMITER_BYTES:
                return i
        start = i + 1


def _region(buf: bytes | bytearray, a: int, b: int, base: int) -> Iterator[Piece]:
    """Pieces of buf[a:b], which starts at a message start or holds whatever precedes the first one."""
    chunk = bytes(buf[a:b]).rstrip(_TRIM) if isinstance(buf, bytearray) else buf[a:b].rstrip(_TRIM)
    if not chunk:
        return
    if chunk[:3] == b"MSH" and chunk[3:4] and chunk[3] in _DELIMITER_BYTES and not chunk.endswith(_BOM):
        lines = chunk.splitlines()
        # Clean message: every line starts with a capital letter, none is an envelope line.
        if min(lines) >= b"A" and max(lines) < b"[" and _ENVELOPES.keys().isdisjoint(map(_HEAD, lines)):
            yield Piece("message", chunk, base + a)
            return
    yield from _scan_lines(chunk, base + a)


def _scan_lines(chunk: bytes, base: int) -> Iterator[Piece]:
    """The general line-by-line rules (module docstring) over one region."""
    state, start, end, fs, after_blank = "none", 0, 0, b"", False
    for m in _LINE.finditer(chunk):
        line, lo, hi = m.group(1), m.start(1), m.end(1)
        if not m.group(0):
            break
        body = line.strip(_BLANK)
        body = body[3:] if body.startswith(_BOM) else body
        if not body.strip(_BLANK):
            after_blank = after_blank or state == "message"
            continue
        kind = _ENVELOPES.get(body[:3]) if body[3:4] and body[3] in _DELIMITER_BYTES else None
        if body[:3] == b"MSH" and body[3:4] and body[3] in _DELIMITER_BYTES and state == "none":
            state, start, end, fs, after_blank = "message", lo + line.find(b"MSH"), hi, body[3:4], False
        elif kind:
            yield from _flush(state, chunk, start, end, base)
            yield Piece(kind, chunk[lo:hi], base + lo)
            state = "after_envelope"
        elif state == "message" and not (after_blank and not _looks_like_segment(body, fs)):
            end, after_blank = hi, False
        elif state == "junk":
            end = hi
        else:
            yield from _flush(state, chunk, start, end, base)
            state, start, end = "junk", lo, hi
    yield from _flush(state, chunk, start, end, base)


def _looks_like_segment(body: bytes, fs: bytes) -> bool:
    return _SEGMENT_ID.match(body) is not None and body[3:4] in (fs, b"")


def _flush(state: str, chunk: bytes, start: int, end: int, base: int) -> Iterator[Piece]:
    if state in ("message", "junk"):
        yield Piece(state, chunk[start:end], base + start)

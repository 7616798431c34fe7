"""MLLP framing as pure code (no sockets): ``<VT> payload <FS><CR>``.

``MllpDecoder.feed`` takes bytes as they arrive (any split: one byte at a time, several frames at once,
an end block cut between two reads) and returns events. Bytes outside frames are discarded and counted;
a frame larger than ``max_message_size`` yields ``Oversize`` once, its bytes are dropped and the
decoder resynchronises at the next start block. Searches use ``bytes.find``, never a byte loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\x0d"
_END = END_BLOCK + CARRIAGE_RETURN


def frame(payload: bytes) -> bytes:
    """Wrap one payload. Raises ValueError if the payload holds a framing byte (it would split)."""
    if START_BLOCK in payload or _END in payload:
        raise ValueError("payload contains an MLLP framing byte sequence")
    return START_BLOCK + payload + _END


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes = field(repr=False)

    def __repr__(self) -> str:  # never the content
        return f"Frame({len(self.payload)} bytes)"


@dataclass(frozen=True, slots=True)
class Oversize:
    size_seen: int  # bytes of the frame received when the limit was passed (the frame is dropped)


class MllpDecoder:
    """Incremental MLLP decoder. ``discarded_bytes`` counts every byte not delivered in a ``Frame``:
    noise between frames, frames abandoned by a new start block, oversize frames and their end blocks."""

    def __init__(self, max_message_size: int = 10 * 1024 * 1024) -> None:
        self.max_message_size = max_message_size
        self.discarded_bytes = 0
        self._buf = bytearray()
        self._state = "outside"  # 'outside' | 'inside' | 'oversize'
        self._seen = 0           # bytes of the current oversize frame

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held now (for back-pressure decisions)."""
        return len(self._buf)

    @property
    def in_frame(self) -> bool:
        """A start block has been seen and its frame has not ended (the frame timeout runs)."""
        return self._state != "outside"

    def release(self) -> None:
        """Drop a partial frame and its memory (the connection is closing)."""
        self.discarded_bytes += len(self._buf)
        self._buf = bytearray()
        self._state = "outside"

    def feed(self, data: bytes) -> list[Frame | Oversize]:
        events: list[Frame | Oversize] = []
        pos, n = 0, len(data)
        while pos < n:
            if self._state == "outside":
                pos = self._find_start(data, pos)
            elif self._state == "inside":
                pos = self._read_frame(data, pos, events)
            else:
                pos = self._skip_oversize(data, pos)
        return events

    def _find_start(self, data: bytes, pos: int) -> int:
        i = data.find(START_BLOCK, pos)
        if i < 0:
            self.discarded_bytes += len(data) - pos
            return len(data)
        self.discarded_bytes += i - pos
        self._state = "inside"
        return i + 1

    def _read_frame(self, data: bytes, pos: int, events: list[Frame | Oversize]) -> int:
        buf = self._buf
        if buf and buf[-1:] == END_BLOCK and data[pos:pos + 1] == CARRIAGE_RETURN:
            return self._emit(bytes(buf[:-1]), pos + 1, events)  # end block split across feeds
        end = data.find(_END, pos)
        restart = data.find(START_BLOCK, pos, end if end >= 0 else len(data))
        if restart >= 0:  # a new start block before this frame ended: drop the partial frame
            self.discarded_bytes += len(buf) + 1 + restart - pos
            buf.clear()
            return restart + 1
        stop = end if end >= 0 else len(data)
        if len(buf) + stop - pos > self.max_message_size + (0 if end >= 0 else 1):
            self._seen = len(buf) + stop - pos
            self.discarded_bytes += 1 + len(buf)
            buf.clear()
            events.append(Oversize(self._seen))
            self._state = "oversize"
            return pos
        if end < 0:
            buf += data[pos:]
            return len(data)
        if buf:
            buf += data[pos:end]
            return self._emit(bytes(buf), end + 2, events)
        return self._emit(data[pos:end], end + 2, events)

    def _emit(self, payload: bytes, pos: int, events: list[Frame | Oversize]) -> int:
        events.append(Frame(payload))
        self._buf.clear()
        self._state = "outside"
        return pos

    def _skip_oversize(self, data: bytes, pos: int) -> int:
        i = data.find(START_BLOCK, pos)
        stop = i if i >= 0 else len(data)
        self.discarded_bytes += stop - pos
        if i >= 0:
            self._state = "inside"
            return i + 1
        return stop

"""MLLP framing fed the way a socket delivers bytes: whole, split anywhere, mixed with noise, too large."""

from __future__ import annotations

import pytest

from connectors.hl7.framing import Frame, MllpDecoder, Oversize, frame

A = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1||123\r"
B = b"MSH|^~\\&|B||||||ORU^R01|2|P|2.6\rOBX|1|NM|x||42\r"


def payloads(events: list) -> list[bytes]:
    return [e.payload for e in events if isinstance(e, Frame)]


def feed_all(decoder: MllpDecoder, parts: list[bytes]) -> list:
    return [event for part in parts for event in decoder.feed(part)]


def test_frame_wraps_and_refuses_framing_bytes() -> None:
    assert frame(A) == b"\x0b" + A + b"\x1c\r"
    for bad in (b"SECRET\x0bb", b"SECRET\x1c\rb"):
        with pytest.raises(ValueError) as err:
            frame(bad)
        assert "SECRET" not in str(err.value)


def test_several_frames_in_one_feed() -> None:
    decoder = MllpDecoder()
    assert payloads(decoder.feed(frame(A) + frame(B) + frame(A))) == [A, B, A]
    assert decoder.discarded_bytes == 0 and decoder.buffered == 0


def test_one_byte_at_a_time() -> None:
    decoder = MllpDecoder()
    stream = frame(A) + frame(B)
    assert payloads(feed_all(decoder, [stream[i:i + 1] for i in range(len(stream))])) == [A, B]


@pytest.mark.parametrize("cut", range(1, len(frame(A)) + 1))
def test_any_split_point(cut: int) -> None:
    stream = frame(A) + frame(B)
    assert payloads(feed_all(MllpDecoder(), [stream[:cut], stream[cut:]])) == [A, B]


def test_end_block_split_between_feeds() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0b" + A + b"\x1c") == []
    assert payloads(decoder.feed(b"\r" + frame(B))) == [A, B]


def test_file_separator_not_followed_by_cr_stays_in_the_payload() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0babc\x1c") == []
    assert payloads(decoder.feed(b"def\x1c\r")) == [b"abc\x1cdef"]


def test_garbage_outside_frames_is_discarded_and_counted() -> None:
    decoder = MllpDecoder()
    events = feed_all(decoder, [b"noise", frame(A), b"\r\n\x1c\r more", frame(B), b"tail"])
    assert payloads(events) == [A, B]
    assert decoder.discarded_bytes == len(b"noise") + len(b"\r\n\x1c\r more") + len(b"tail")


def test_new_start_block_abandons_a_partial_frame() -> None:
    decoder = MllpDecoder()
    events = decoder.feed(b"\x0bhalf a message" + frame(A))
    assert payloads(events) == [A]
    assert decoder.discarded_bytes == 1 + len(b"half a message")


def test_oversize_frame_is_reported_once_then_resync() -> None:
    decoder = MllpDecoder(max_message_size=64)
    big = b"x" * 200
    events = feed_all(decoder, [b"\x0b" + big[:100], big[100:] + b"\x1c\r", frame(A[:60])])
    assert [type(e) for e in events] == [Oversize, Frame]
    assert events[0].size_seen > 64 and events[1].payload == A[:60]
    assert decoder.discarded_bytes == 1 + 200 + 2


def test_oversize_fed_byte_by_byte() -> None:
    decoder = MllpDecoder(max_message_size=10)
    stream = b"\x0b" + b"y" * 50 + b"\x1c\r" + frame(b"ok")
    events = feed_all(decoder, [stream[i:i + 1] for i in range(len(stream))])
    assert len([e for e in events if isinstance(e, Oversize)]) == 1
    assert payloads(events) == [b"ok"] and decoder.buffered == 0


@pytest.mark.parametrize("size", [9, 10])
def test_frame_at_the_limit_is_accepted(size: int) -> None:
    decoder = MllpDecoder(max_message_size=10)
    payload = b"z" * size
    stream = frame(payload)
    assert payloads(feed_all(decoder, [stream[i:i + 1] for i in range(len(stream))])) == [payload]
    assert payloads(MllpDecoder(max_message_size=10).feed(stream)) == [payload]


def test_large_frame_in_network_sized_reads() -> None:
    payload = b"OBX|1|NA|x||" + b"1^" * 2_000_000 + b"\r"
    stream = frame(payload)
    decoder = MllpDecoder()
    events = feed_all(decoder, [stream[i:i + 65536] for i in range(0, len(stream), 65536)])
    assert payloads(events) == [payload]


def test_reprs_carry_no_content() -> None:
    assert repr(Frame(b"SECRET")) == "Frame(6 bytes)"
    assert repr(Oversize(99)) == "Oversize(size_seen=99)"

"""HL7 v2 acknowledgements (ACK segment text; MLLP framing is separate). Pure, no I/O.

* Mode (HL7 2.9): original when MSH-15 and MSH-16 are both empty, else enhanced. Original mode answers
  with an application ACK (AA/AE/AR); enhanced mode with a commit ACK (CA/CE/CR) when MSH-15 asks for
  one and an application ACK when MSH-16 asks for one, per table 0155: AL always, NE never, ER only on
  error/reject, SU only on success. In enhanced mode an empty or unknown condition counts as AL: an
  unwanted ACK costs less than a sender waiting for one.
* The ACK of a parsed message mirrors the header: its MSH-3/4 are the message's MSH-5/6 and its MSH-5/6 the
  message's MSH-3/4, copied as sent, with the message's delimiters (a 5th truncation character included) and
  charset (MSH-18 echoed). MSH-9 is ``ACK^<trigger>^ACK`` (``ACK^<trigger>`` in v2.2-2.3, ``ACK`` in
  v2.1), MSH-12 the message's version, MSA-2 its MSH-10.
* On error, ERR carries the location and the HL7 table 0357 code, never content: from v2.5
  ``ERR||<seg>^<seq>^<field>|<code>^<text>^HL70357|E``, before v2.5
  ``ERR|<seg>^<seq>^<field>^<code>&<text>&HL70357``.
  An MSH field the error points at is not echoed either (an unsupported MSH-12 is answered in v2.5).
* The ACK of a message that could not be parsed echoes nothing of it but MSH-10 in MSA-2 (HL7 requires it):
  its routing fields stay empty, whatever they held (a sender can put anything there, an identifier
  included). Only the delimiters, a supported version, a known charset and a processing id of table 0103
  are taken from it, so that the sender can read the answer.
* ERR-8 (v2.5 and later) names the rule, and for errors the sender should retry, how long to wait:
  ``rule landing.commit_failed; retry after 2 s``. No value of the message goes there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

from connectors.hl7.parse import (
    _CHARSETS,
    DEFAULT_DELIMITERS,
    ERROR_TEXT,
    SUPPORTED_VERSIONS,
    Delimiters,
    Hl7Message,
    Hl7ParseError,
    _charset_and_plan,
    _charset_key,
    escape,
)

AckMode = Literal["original", "enhanced"]
Outcome = Literal["accept", "error", "reject"]
ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
_OUTCOMES = ("accept", "error", "reject")
_FALLBACK_VERSION = "2.5"
_BLANK = b" \t\r\n\x0b\x1c"


def ack_mode(msg: Hl7Message) -> AckMode:
    return "enhanced" if msg.accept_ack_type or msg.application_ack_type else "original"


def wants_commit_ack(msg: Hl7Message | None, outcome: Outcome) -> bool:
    """Should a commit (accept) ACK be sent for this outcome? Never in original mode, where the
    application ACK is the only one; always for an unreadable message (``None``)."""
    _check(outcome)
    if msg is None:
        return True
    return ack_mode(msg) == "enhanced" and _wanted(msg.accept_ack_type, outcome)


def wants_application_ack(msg: Hl7Message | None, outcome: Outcome) -> bool:
    """Should an application ACK be sent for this outcome? Always in original mode."""
    _check(outcome)
    if msg is None or ack_mode(msg) == "original":
        return True
    return _wanted(msg.application_ack_type, outcome)


def ack_code(msg: Hl7Message | None, outcome: Outcome, *, commit: bool = True) -> str:
    """MSA-1 for an outcome: CA/CE/CR for an enhanced-mode commit ACK, else AA/AE/AR."""
    _check(outcome)
    enhanced_commit = commit and msg is not None and ack_mode(msg) == "enhanced"
    return ("C" if enhanced_commit else "A") + {"accept": "A", "error": "E", "reject": "R"}[outcome]


def _check(outcome: str) -> None:
    if outcome not in _OUTCOMES:
        raise ValueError("outcome must be accept, error or reject")


def _wanted(condition: str, outcome: Outcome) -> bool:
    condition = condition.upper()
    if condition == "NE":
        return False
    if condition == "ER":
        return outcome != "accept"
    if condition == "SU":
        return outcome == "accept"
    return True


def build_ack(msg: Hl7Message | None, code: str, *, error: Hl7ParseError | None = None,
              control_id: str, now: datetime, raw: bytes | None = None,
              default_charset: str = "utf-8") -> bytes:
    """The ACK for ``msg`` or, when it could not be parsed (``msg is None``), for whatever MSH of ``raw``
    is readable (``default_charset`` as given to ``parse_message``). CR-terminated segments, encoded in
    the message's charset."""
    if code not in ACK_CODES:
        raise ValueError("code must be one of AA AE AR CA CE CR")
    if msg is not None:
        wire = _first_line(msg.raw).decode(msg.charset).split(msg.delimiters.field)
        return _ack(msg.delimiters, wire, msg.charset, code, error, control_id, now)
    return _ack_from_raw(raw or b"", code, error, control_id, now, default_charset)


def _ack_from_raw(raw: bytes, code: str, error: Hl7ParseError | None, control_id: str,
                  now: datetime, default_charset: str) -> bytes:
    """Best effort for an unparsable message: delimiters and MSH fields read from the bytes, decoded in
    the charset MSH-18 names when that works; otherwise only the fields before the first non-ASCII byte
    (which could be half of a multi-byte character) are trusted. Fields that are not plain text under
    the ACK's delimiters are left empty."""
    line = _first_line(raw)
    d, fields = _raw_delimiters(line)
    try:
        charset, _ = _charset_and_plan(line, d.field, default_charset)
        wire = line.decode(charset).split(d.field) if len(fields) > 1 else ["MSH"]
    except (Hl7ParseError, UnicodeDecodeError, LookupError):
        charset = "ascii"
        cut = next((i for i, b in enumerate(line) if b > 0x7F), len(line))
        if cut < len(line):
            fields = fields[:len(line[:cut].split(d.field.encode())) - 1]
        wire = [f.decode("ascii") for f in fields]
    return _ack(d, [f if _plain(f, d) else "" for f in wire], charset, code, error, control_id, now,
                mirror=False)


def _raw_delimiters(line: bytes) -> tuple[Delimiters, list[bytes]]:
    """The message's delimiters if valid; its field separator with the standard encoding characters if
    only MSH-2 is broken; the standard set (and no fields) if even MSH-1 is unusable."""
    fs = line[3:4] if line[:3] == b"MSH" else b""
    if not (len(fs) == 1 and 0x21 <= fs[0] < 0x7F and not fs.isalnum()):
        return DEFAULT_DELIMITERS, [b"MSH"]
    fields = line.split(fs)
    enc = fields[1].decode("latin-1") if len(fields) > 1 else ""
    if (4 <= len(enc) <= 5 and len(set(enc)) == len(enc) and fs.decode() not in enc
            and all(0x21 <= ord(c) < 0x7F and not c.isalnum() for c in enc)):
        truncation = enc[4] if len(enc) == 5 else None
        return Delimiters(fs.decode(), enc[0], enc[1], enc[2], enc[3], truncation), fields
    if fs.decode() in DEFAULT_DELIMITERS.encoding_characters:
        return DEFAULT_DELIMITERS, [b"MSH"]
    return Delimiters(fs.decode(), "^", "~", "\\", "&", None), fields


def _plain(value: str, d: Delimiters) -> bool:
    """Safe to copy as wire text under ``d``: printable, no field separator, no escape character."""
    return value.isprintable() and d.field not in value and d.escape not in value


class _Sent:
    """MSH fields as sent (wire text; ``get(n)`` is MSH-n), minus the field an error points at."""

    def __init__(self, wire: list[str], error: Hl7ParseError | None) -> None:
        self.wire = wire
        in_msh = error is not None and (error.segment_id == "MSH" or error.segment_index == 1)
        self.faulty = error.field_position if in_msh and error is not None else None

    def get(self, n: int) -> str:
        if n == self.faulty or n < 3 or n > len(self.wire):
            return ""
        return self.wire[n - 1]


@dataclass(slots=True)
class _Header:
    """Wire text of the ACK's own MSH fields, already mirrored."""

    app: str
    facility: str
    receiving_app: str
    receiving_facility: str
    trigger: str
    control_id: str
    processing: str
    version: str
    charset: str


_PROCESSING_IDS = frozenset({"P", "D", "T"})  # HL7 table 0103


def _ack(d: Delimiters, wire: list[str], charset: str, code: str, error: Hl7ParseError | None,
         control_id: str, now: datetime, *, mirror: bool = True) -> bytes:
    sent = _Sent(wire, error)
    version = sent.get(12) if sent.get(12).split(d.component)[0].strip() in SUPPORTED_VERSIONS else ""
    msh9 = sent.get(9).split(d.component)
    declared = sent.get(18).split(d.repetition)[0].strip()
    processing = sent.get(11)
    header = _Header(
        app=sent.get(5) if mirror else "", facility=sent.get(6) if mirror else "",
        receiving_app=sent.get(3) if mirror else "", receiving_facility=sent.get(4) if mirror else "",
        trigger=msh9[1] if mirror and len(msh9) > 1 else "", control_id=escape(control_id, d),
        processing=processing if mirror or processing.strip() in _PROCESSING_IDS else "",
        version=version, charset=sent.get(18) if declared and _CHARSETS.get(_charset_key(declared)) else "")
    echoed = wire[9] if len(wire) > 9 else ""  # MSA-2 is MSH-10 whatever the error points at
    text = _segments(d, header, now, code, echoed, error)
    return text.encode(charset, errors="replace")


def _segments(d: Delimiters, h: _Header, now: datetime, code: str, echoed_id: str,
              error: Hl7ParseError | None) -> str:
    version = h.version or _FALLBACK_VERSION
    v = _version_tuple(version.split(d.component)[0])
    msh9 = "ACK"
    if v >= (2, 2) and (h.trigger or v >= (2, 3, 1)):
        msh9 += d.component + h.trigger
    if v >= (2, 3, 1):
        msh9 += d.component + "ACK"
    msh = ["MSH", d.encoding_characters, h.app, h.facility, h.receiving_app, h.receiving_facility,
           _timestamp(now), "", msh9, h.control_id, h.processing or "P", version,
           "", "", "", "", "", h.charset]
    segments = [d.field.join(msh).rstrip(d.field), d.field.join(["MSA", code, echoed_id])]
    if error is not None:
        segments.append(_err(d, error, v))
    return "\r".join(segments) + "\r"


def _err(d: Delimiters, error: Hl7ParseError, v: tuple[int, ...]) -> str:
    c, f = d.component, d.field
    location = [error.segment_id or "", str(error.segment_index or ""), str(error.field_position or "")]
    text = ERROR_TEXT.get(error.code, ERROR_TEXT[207])
    if v >= (2, 5):
        code = c.join([str(error.code), text, "HL70357"])
        segment = ["ERR", "", c.join(location).rstrip(c), code, "E", "", "", "", escape(_user_message(error), d)]
        return f.join(segment)
    return f.join(["ERR", c.join([*location, d.subcomponent.join([str(error.code), text, "HL70357"])])])


def _user_message(error: Hl7ParseError) -> str:
    """ERR-8: the rule, and the wait before a resend for errors that pass."""
    if error.retry_after_s:
        return f"rule {error.rule}; retry after {error.retry_after_s:g} s"
    return f"rule {error.rule}"


@lru_cache(maxsize=64)
def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.strip().split("."))
    except ValueError:
        return (2, 5)


def _timestamp(now: datetime) -> str:
    """MSH-7 of an ACK: seconds and UTC offset (one ACK after another share it: cached per second)."""
    key = (now.replace(microsecond=0), now.tzinfo)
    last_key, text = _LAST_TIMESTAMP[0]  # one read of one tuple: safe if another thread replaces it
    if last_key != key:
        text = now.strftime("%Y%m%d%H%M%S") + (now.strftime("%z") if now.tzinfo else "")
        _LAST_TIMESTAMP[0] = (key, text)
    return text


_LAST_TIMESTAMP: list[tuple] = [(None, "")]


def _first_line(raw: bytes) -> bytes:
    data = raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw
    data = data.lstrip(_BLANK)
    ends = [i for i in (data.find(b"\r"), data.find(b"\n"), data.find(b"\x1c")) if i >= 0]
    return data[:min(ends)] if ends else data

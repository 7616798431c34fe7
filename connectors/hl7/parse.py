"""HL7 v2 tokenizer: the bytes of one message → a regular, JSON-able document. Pure, no I/O.

Document (``Hl7Message.doc()``, ``"v": 1``), read by staging SQL with jsonb operators:

* ``segments`` lists the segments in message order (blank lines skipped). A segment is a list whose
  element 0 is the segment id (``"PID"``) and element *n* is field *n*, so ``seg->5->0->0->>0`` in SQL is
  "field 5, repetition 1, component 1, subcomponent 1".
* A field is a list of repetitions, a repetition a list of components, a component a list of
  subcomponent strings. Nothing is abbreviated: ``x`` is ``[[["x"]]]``, ``a^b`` is ``[[["a"],["b"]]]``.
* An empty field is ``[]`` (zero repetitions; also a field whose only value decodes to ``""``). Inside a
  non-empty field every position is kept: an empty component is ``[""]``, an empty repetition ``[[""]]``.
* The HL7 null (two double quotes on the wire) stays that literal two-character string
  ``[[["\\"\\""]]]``: the document is lossless, and SQL tests ``= '""'`` where "delete the value" matters.
* Trailing empty fields are dropped (``PID|1||`` has one field) and so are blanks at the very end of a
  segment line (editor debris); positions and blanks inside a field are kept.
* MSH: element 1 is ``[[["|"]]]`` (the field separator) and element 2 the encoding characters unsplit
  (``[[["^~\\\\&"]]]``, with the 5th truncation character when sent), so ``segments[0][n]`` is MSH-n.
* Escapes are decoded in every subcomponent: ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\`` → the delimiter,
  ``\\P\\`` → the truncation character (when declared), ``\\Xhh..\\`` → those bytes decoded in the
  message charset, ``\\.br\\`` → ``"\\n"``, ``\\H\\ \\N\\`` → dropped; any other sequence
  (``\\Zxx\\``, ``\\Cxxyy\\``, ``\\.sp\\``, an undecodable ``\\X..\\``, a lone escape character) is kept
  literally.

Hot path: the document JSON is produced by byte replacement over orjson output (``_fast_run``), and only when
asked for: landing does not store it for a message whose document ``landing.hl7_segments`` rebuilds in SQL
(``Hl7Message.sql_document``). Python lists are built only when ``Hl7Message.segments`` is read. Segments
with escapes go through the field by field builder (``_segment``), whole messages with unusual delimiters
through ``_reference_segments``, which is also the oracle the tests compare the fast paths with.
Errors are ``Hl7ParseError`` with an HL7 table 0357 code, a rule id and a field path; never a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

_dumps = orjson.dumps
_loads = orjson.loads

ERROR_TEXT = {
    100: "Segment sequence error", 101: "Required field missing", 102: "Data type error",
    103: "Table value not found", 104: "Value too long", 200: "Unsupported message type",
    201: "Unsupported event code", 202: "Unsupported processing id", 203: "Unsupported version id",
    204: "Unknown key identifier", 205: "Duplicate key identifier", 206: "Application record locked",
    207: "Application internal error",
}
SUPPORTED_VERSIONS = frozenset(
    {"2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"})
ENVELOPE_IDS = frozenset({"MSH", "FHS", "BHS", "BTS", "FTS"})

# HL7 table 0211 (plus unambiguous spellings seen in the field), keyed by _charset_key().
_CHARSETS = {
    "ASCII": "ascii", "USASCII": "ascii", "ISOIR6": "ascii",
    **{f"8859{n}": f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 15)},
    "88591": "latin-1", "LATIN1": "latin-1",
    "ISOIR14": "iso2022_jp_ext", "ISOIR87": "iso2022_jp", "ISOIR159": "iso2022_jp_2",
    "GB180302000": "gb18030", "GB18030": "gb18030", "GBK": "gbk", "GB2312": "gb2312",
    "KSX1001": "euc_kr", "BIG5": "big5",
    "UNICODE": "utf-8", "UNICODEUTF8": "utf-8", "UTF8": "utf-8",
}
# In table 0211 but not readable here: MSH itself would not be ASCII (UTF-16/32), or Python has no codec.
_UNSUPPORTED = frozenset({"UNICODEUTF16", "UNICODEUTF32", "UTF16", "UTF32", "CNS116431992"})
_C1_CHECKED = frozenset(v for v in _CHARSETS.values() if v.startswith(("iso8859", "latin")))
_C1_BYTES = re.compile(b"[\x80-\x9f]")  # C1 controls: no ISO 8859 part defines them as characters
_BOM = b"\xef\xbb\xbf"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}\Z")
# Delimiters must be printable ASCII punctuation. The JSON-safe ones can be swapped for JSON punctuation
# by bytes.replace: not [ ] , " (inserted by us) and not the backslash of JSON escapes.
_DELIMITER_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())
_JSON_SAFE = _DELIMITER_CHARS - frozenset('[],"\\')
_SEG = "\x7f"  # joins segment texts on the fast path; orjson passes DEL through unescaped
_SQL_CODECS = frozenset({"utf-8", "ascii"})  # what landing.hl7_segments decodes (as UTF-8)


class Hl7ParseError(ValueError):
    """A message (or piece) that cannot be accepted. Carries location and rule, never content."""

    def __init__(self, code: int, rule: str, field_path: str, *, segment_id: str | None = None,
                 segment_index: int | None = None, field_position: int | None = None,
                 retry_after_s: float | None = None) -> None:
        self.code = code
        self.retry_after_s = retry_after_s    # for errors that pass (a refused rate, a failed commit)
        self.rule = rule
        self.field_path = field_path
        self.segment_id = segment_id          # only a valid id (an invalid one could be content)
        self.segment_index = segment_index    # 1-based position among the message's segments
        self.field_position = field_position  # n of "PID-n", when the error is in one field
        super().__init__(f"{field_path}: {ERROR_TEXT.get(code, 'error').lower()} (rule {rule})")

    def __reduce__(self) -> Any:  # picklable across process pools
        return (_rebuild_error, (self.code, self.rule, self.field_path, self.segment_id,
                                 self.segment_index, self.field_position, self.retry_after_s))


def _rebuild_error(code: int, rule: str, path: str, sid: str | None, index: int | None,
                   position: int | None, retry_after_s: float | None = None) -> Hl7ParseError:
    return Hl7ParseError(code, rule, path, segment_id=sid, segment_index=index, field_position=position,
                         retry_after_s=retry_after_s)


def _msh_error(code: int, rule: str, n: int) -> Hl7ParseError:
    return Hl7ParseError(code, rule, f"MSH-{n}", segment_id="MSH", segment_index=1, field_position=n)


@dataclass(frozen=True, slots=True)
class Delimiters:
    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str
    truncation: str | None

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as sent: component, repetition, escape, subcomponent (+ truncation)."""
        return self.component + self.repetition + self.escape + self.subcomponent + (self.truncation or "")

    def __str__(self) -> str:
        return self.field + self.encoding_characters


DEFAULT_DELIMITERS = Delimiters("|", "^", "~", "\\", "&", None)


@dataclass(slots=True, repr=False)
class Hl7Message:
    """One parsed message: its exact bytes, charset, delimiters, document and MSH routing header.

    Read-only by convention (not frozen: a frozen dataclass sets its 19 fields through object.__setattr__,
    which costs more than the rest of building one on the landing hot path). ``segments`` (a property) is the
    document as Python lists, built from ``segments_json`` on first use and cached; treat it as read-only.
    Header strings are '' when absent. ``sql_document``: ``landing.hl7_segments`` (connectors/sql/landing.sql)
    builds this message's document from its bytes exactly, so landing need not store it (then ``segments_json``
    is built only when asked for).
    """

    raw: bytes
    charset: str
    delimiters: Delimiters
    _json: bytes | None = field(compare=False)  # segments JSON, or None until built from _run
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""
    trigger_event: str = ""
    message_structure: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""
    message_datetime: str = ""
    accept_ack_type: str = ""
    application_ack_type: str = ""
    charset_declared: str = ""
    sql_document: bool = field(default=False, kw_only=True)
    _run: tuple | None = field(default=None, compare=False, kw_only=True)  # _fast_run's arguments
    _segments_cache: list | None = field(default=None, init=False, compare=False)

    @property
    def segments_json(self) -> bytes:
        built = self._json
        if built is None:
            built = self._json = b"[" + _fast_run(*self._run) + b"]"  # type: ignore[misc]
        return built

    @property
    def segments(self) -> list:
        cached = self._segments_cache
        if cached is None:
            cached = self._segments_cache = _loads(self.segments_json)
        return cached

    def doc(self) -> dict:
        return {"v": 1, "delimiters": str(self.delimiters), "segments": self.segments}

    def doc_json(self) -> bytes:
        """``doc()`` serialized, without building Python lists (the landing hot path)."""
        return b'{"v":1,"delimiters":' + _dumps(str(self.delimiters)) + b',"segments":' \
            + self.segments_json + b"}"

    def __repr__(self) -> str:  # no field contents: type, version and sizes only
        return (f"Hl7Message({self.message_type}^{self.trigger_event} v{self.version}, "
                f"{len(self.segments)} segments, {len(self.raw)} bytes)")


class _Plan:
    """Constants for one delimiter set, cached, so the hot path only looks them up."""

    __slots__ = ("d", "F", "C", "R", "E", "S", "fast", "standard", "escapes", "json12", "msh_prefix", "marks",
                 "replaces")

    def __init__(self, d: Delimiters) -> None:
        self.d = d
        self.F, self.C, self.R, self.E, self.S = d.field, d.component, d.repetition, d.escape, d.subcomponent
        self.fast = {d.field, d.component, d.repetition, d.subcomponent} <= _JSON_SAFE
        self.standard = (d.field, d.component, d.repetition, d.escape, d.subcomponent) == ("|", "^", "~", "\\", "&")
        self.escapes = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition,
                        "E": d.escape, "H": "", "N": "", ".br": "\n"}
        if d.truncation:
            self.escapes["P"] = d.truncation
        self.json12 = _dumps([[[d.field]]]) + b"," + _dumps([[[d.encoding_characters]]])
        self.msh_prefix = b'["MSH",' + self.json12 + b","
        self.marks = [c for c in "`$;=@!?:{}<>" if c not in str(d)]
        self.replaces = ((d.field.encode(), b'"]]],[[["'), (d.repetition.encode(), b'"]],[["'),
                         (d.component.encode(), b'"],["'), (d.subcomponent.encode(), b'","'))


_PLANS: dict[tuple[str, str], _Plan] = {}
_CODECS: dict[tuple[str, str, str], str] = {}
_ASCII_MSH: dict[tuple[str, bytes, bytes, str], tuple[str, _Plan]] = {}  # (F, MSH-2, MSH-18, default)
# Valid non-envelope segment ids seen so far (at most 26*36*36 of them).
_KNOWN_IDS: set[str] = set()


def _plan(fs: str, enc: str) -> _Plan:
    plan = _PLANS.get((fs, enc))
    if plan is None:
        if not (4 <= len(enc) <= 5 and len(set(enc)) == len(enc) and fs not in enc
                and set(enc) <= _DELIMITER_CHARS):
            raise _msh_error(102, "msh.encoding_characters", 2)
        plan = _Plan(Delimiters(fs, enc[0], enc[1], enc[2], enc[3], enc[4] if len(enc) == 5 else None))
        if len(_PLANS) < 256:
            _PLANS[(fs, enc)] = plan
    return plan


def unescape(value: str, delimiters: Delimiters | _Plan, charset: str = "utf-8") -> str:
    """Decode the HL7 escape sequences of one subcomponent (table in the module docstring)."""
    plan = delimiters if isinstance(delimiters, _Plan) else _plan(delimiters.field,
                                                                  delimiters.encoding_characters)
    esc = plan.E
    if esc not in value:
        return value
    out, i = [], 0
    while True:
        j = value.find(esc, i)
        k = value.find(esc, j + 1) if j >= 0 else -1
        if k < 0:
            out.append(value[i:])
            return "".join(out)
        out.append(value[i:j])
        body = value[j + 1:k]
        decoded = plan.escapes.get(body)
        if decoded is None and body[:1] == "X":
            decoded = _hex_escape(body[1:], charset)
        out.append(value[j:k + 1] if decoded is None else decoded)
        i = k + 1


def _hex_escape(digits: str, charset: str) -> str | None:
    if not digits or len(digits) % 2:
        return None
    try:
        text = bytes.fromhex(digits).decode(charset)
    except (ValueError, LookupError):
        return None
    return None if "\x00" in text else text  # \X00\ stays literal: PostgreSQL cannot hold a NUL


def escape(value: str, d: Delimiters) -> str:
    """Encode one subcomponent for the wire (inverse of ``unescape``; CR/LF become ``\\X0D\\ \\X0A\\``)."""
    if value.isalnum():  # no delimiter, escape character or line break (all are ASCII punctuation or controls)
        return value
    e = d.escape
    out = value.replace(e, f"{e}E{e}")
    for char, code in ((d.field, "F"), (d.component, "S"), (d.subcomponent, "T"), (d.repetition, "R"),
                       (d.truncation, "P"), ("\r", "X0D"), ("\n", "X0A")):
        if char and char in out:
            out = out.replace(char, f"{e}{code}{e}")
    return out


def encode_field(value: list, d: Delimiters) -> str:
    """One document field (repetitions → components → subcomponents) back to wire text."""
    return d.repetition.join(d.component.join(d.subcomponent.join(escape(s, d) for s in comp)
                                              for comp in rep) for rep in value)


def parse_message(raw: bytes, *, default_charset: str = "utf-8") -> Hl7Message:
    """Parse one message (no MLLP framing). Raises ``Hl7ParseError``; never returns a partial message."""
    data = raw[3:] if raw[:3] == _BOM else raw
    if data[:1] in (b" ", b"\t", b"\r", b"\n"):
        data = data.lstrip(b" \t\r\n")
    if data[:3] != b"MSH":
        raise Hl7ParseError(100, "msh.missing" if data.strip() else "message.empty", "segment 1",
                            segment_index=1)
    fs = data[3:4].decode("latin-1")
    if fs not in _DELIMITER_CHARS:
        raise _msh_error(102, "msh.field_separator", 1)
    codec, plan = _charset_and_plan(data, fs, default_charset)
    text = _decode(data, codec, fs)
    if "\x00" in text:  # a stored document must decode: PostgreSQL text and jsonb hold no NUL
        raise _nul_error(text, fs)
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    lines = text.split("\r")
    msh = lines[0].rstrip(" \t").rstrip(fs)
    msh_fields = msh.split(fs)
    msh_rest = msh[msh.find(fs, 4) + 1:] if len(msh_fields) > 2 else ""
    header = _header(msh_fields, msh_rest, plan, codec)
    mark = _id_mark(text, plan)
    sids, marked, bare, blanks = _clean_segments(lines, plan, mark or fs)
    marked[0] = "MSH" + (mark or fs) + msh_rest
    if mark and _SEG not in text:
        body = _SEG.join(marked)
        if not bare and "\\" not in body and plan.E not in body:  # one plain run: JSON built when asked for
            return Hl7Message(raw, codec, plan.d, None, *header,
                              sql_document=plan.standard and not blanks and _sql_text(text, codec),
                              _run=(body, mark, plan))
        return Hl7Message(raw, codec, plan.d, _mixed_json(msh_fields, sids, marked, mark, plan, codec), *header)
    cache = _reference_segments(msh_fields, sids, [line[4:] for line in marked], plan, codec)
    msg = Hl7Message(raw, codec, plan.d, _dumps(cache), *header)
    msg._segments_cache = cache
    return msg


def _sql_text(text: str, codec: str) -> bool:
    """``landing.hl7_segments`` can read this text: it decodes UTF-8, PostgreSQL text holds no NUL, and SOH
    marks the end of segment ids there. (It also needs the plain fast path, the standard delimiters and no blanks
    around segments.)"""
    return codec in _SQL_CODECS and "\x00" not in text and "\x01" not in text


def _decode(data: bytes, codec: str, fs: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _decode_error(data, exc.start, fs) from None
    if codec in _C1_CHECKED and not data.isascii():
        c1 = _C1_BYTES.search(data)
        if c1:
            raise _decode_error(data, c1.start(), fs)
    return text


def _charset_and_plan(data: bytes, fs: str, default: str) -> tuple[str, _Plan]:
    """Read MSH-2 and MSH-18 from the bytes of the MSH line, before decoding the message."""
    end = data.find(b"\r")
    lf = data.find(b"\n", 0, end if end >= 0 else len(data))
    msh = data[:lf if lf >= 0 else end if end >= 0 else len(data)]
    parts = msh.split(fs.encode())
    if msh.isascii():
        key = (fs, parts[1] if len(parts) > 1 else b"", parts[17] if len(parts) > 17 else b"", default)
        cached = _ASCII_MSH.get(key)
        if cached is None:
            plan = _plan(fs, key[1].decode("ascii"))
            cached = _codec(key[2].decode("ascii"), plan, default), plan
            if len(_ASCII_MSH) < 256:
                _ASCII_MSH[key] = cached
        return cached
    plan = _plan(fs, parts[1].decode("latin-1") if len(parts) > 1 else "")
    # Non-ASCII MSH (say a GB 18030 facility name with a trail byte equal to '|'): byte-splitting is not
    # reliable, so accept the codec whose decoding of the MSH line names that same codec in MSH-18.
    naive = parts[17].decode("latin-1") if len(parts) > 17 else ""
    candidates = [_codec_or_none(naive, plan, default), default, "utf-8", "gb18030", "big5", "euc_kr",
                  "shift_jis", "latin-1"]
    for codec in dict.fromkeys(c for c in candidates if c):
        try:
            fields = msh.decode(codec).split(fs)
        except (UnicodeDecodeError, LookupError):
            continue
        if _codec_or_none(fields[17] if len(fields) > 17 else "", plan, default) == codec:
            return codec, plan
    return _codec(naive, plan, default), plan


@lru_cache(maxsize=256)
def _charset_key(name: str) -> str:
    key = re.sub(r"[\s\-_/.]", "", name.upper())
    return key[3:] if key.startswith("ISO8859") else key


def _codec(declared: str, plan: _Plan, default: str) -> str:
    """MSH-18 (first non-empty repetition) → Python codec; '' → ``default``."""
    cached = _CODECS.get((declared, plan.R, default))
    if cached:
        return cached
    name = next((rep.strip() for rep in declared.split(plan.R) if rep.strip()), "")
    key = _charset_key(name)
    codec = _CHARSETS.get(key) if name else default
    if codec is None:
        raise _msh_error(103, "charset.unsupported" if key in _UNSUPPORTED else "charset.unknown", 18)
    if len(_CODECS) < 256:
        _CODECS[(declared, plan.R, default)] = codec
    return codec


def _codec_or_none(declared: str, plan: _Plan, default: str) -> str | None:
    try:
        return _codec(declared, plan, default)
    except Hl7ParseError:
        return None


def _decode_error(data: bytes, offset: int, fs: str, rule: str = "charset.decode") -> Hl7ParseError:
    """Locate an undecodable byte as segment/field (counted in bytes: CR/LF are safe in every codec)."""
    lines = re.split(rb"\r\n|\r|\n", data[:offset] if offset >= 0 else data)
    partial = lines[-1].lstrip(b" \t")
    index = sum(1 for ln in lines[:-1] if ln.strip(b" \t")) + 1
    sid, fsb = partial[:3].decode("latin-1"), fs.encode()
    if _SEGMENT_ID.match(sid) and partial[3:4] == fsb:
        position = partial.count(fsb) + (1 if sid == "MSH" else 0)
        return Hl7ParseError(102, rule, f"{sid}-{position}", segment_id=sid,
                             segment_index=index, field_position=position)
    return Hl7ParseError(102, rule, f"segment {index}", segment_index=index)


def _nul_error(text: str, fs: str) -> Hl7ParseError:
    """A NUL character, which PostgreSQL text and jsonb cannot hold, located as segment/field."""
    return _decode_error(text[:text.index("\x00")].encode("utf-8", "surrogatepass"), -1, fs, "hl7.nul_character")


def _header(f: list[str], msh_rest: str, plan: _Plan, charset: str) -> tuple[str, ...]:
    """MSH-3..18 as the Hl7Message header strings, in field order; checks required fields and version."""
    if len(f) < 18:
        f = f + [""] * (18 - len(f))
    if plan.R in msh_rest or plan.S in msh_rest or plan.E in msh_rest:
        return _checked(_header_general(f, plan, charset))
    c = plan.C
    if c != "^":  # HD fields are reported with '^' between components whatever the delimiter
        f = f[:2] + [v.replace(c, "^") for v in f[2:6]] + f[6:]
    msh9 = f[8].split(c) + ["", ""]
    return _checked((
        f[2].strip(), f[3].strip(), f[4].strip(), f[5].strip(),        # MSH-3..6
        msh9[0].strip(), msh9[1].strip(), msh9[2].strip(), f[9].strip(),  # MSH-9.1-3, MSH-10
        f[10].partition(c)[0].strip(), f[11].partition(c)[0].strip(),   # MSH-11.1, MSH-12.1
        f[6].partition(c)[0].strip(), f[14].partition(c)[0].strip(),    # MSH-7.1, MSH-15
        f[15].partition(c)[0].strip(), f[17].strip()))                  # MSH-16, MSH-18


def _header_general(f: list[str], plan: _Plan, charset: str) -> tuple[str, ...]:
    """Header when MSH carries repetitions, subcomponents or escapes: first repetition, decoded."""
    def rep1(n: int) -> str:
        return f[n - 1].split(plan.R, 1)[0]

    def comp1(n: int, i: int = 0) -> str:
        comps = rep1(n).split(plan.C) + ["", ""]
        return unescape(comps[i].split(plan.S, 1)[0], plan, charset).strip()

    def hd(n: int) -> str:
        return "^".join("&".join(unescape(s, plan, charset) for s in c.split(plan.S))
                        for c in rep1(n).split(plan.C)).strip()

    return (hd(3), hd(4), hd(5), hd(6), comp1(9), comp1(9, 1), comp1(9, 2),
            unescape(rep1(10), plan, charset).strip(), comp1(11), comp1(12), comp1(7), comp1(15), comp1(16),
            rep1(18).strip())


# Routing fields land in indexed columns (the dedup key: sender, control id, fingerprint), whose entries
# PostgreSQL limits to ~2.7 kB: longer values are refused here with a reason instead of failing a batch.
# HL7 v2.7+ lengths: MSH-10 ST(199); MSH-3/MSH-4 HD(227: IS 20, ST 199, ID 6 and two separators).
MAX_CONTROL_ID = 199
MAX_HD = 227


def _checked(header: tuple[str, ...]) -> tuple[str, ...]:
    for n, value in ((3, header[0]), (4, header[1])):
        if len(value) > MAX_HD:
            raise _msh_error(104, f"msh.{'sending_application' if n == 3 else 'sending_facility'}.too_long", n)
    if len(header[7]) > MAX_CONTROL_ID:
        raise _msh_error(104, "msh.control_id.too_long", 10)
    if not header[4]:
        raise _msh_error(101, "msh.message_type.required", 9)
    if not header[7]:
        raise _msh_error(101, "msh.control_id.required", 10)
    if not header[9]:
        raise _msh_error(101, "msh.version.required", 12)
    if header[9] not in SUPPORTED_VERSIONS:
        raise _msh_error(203, "version.unsupported", 12)
    return header


def _id_mark(text: str, plan: _Plan) -> str | None:
    """A character absent from the text that can stand for "end of segment id" on the fast path."""
    if not plan.fast:
        return None
    for mark in plan.marks:
        if mark not in text:
            return mark
    return None


def _clean_segments(lines: list[str], plan: _Plan, mark: str) -> tuple[list[str], list[str], bool, bool]:
    """Segment ids, and segment texts with the separator after the id replaced by ``mark``; slot 0 is
    left for MSH. Blank lines are skipped, trailing blanks and separators removed, ids checked (envelope
    ids are never in _KNOWN_IDS). Also: whether a segment is a bare id, and whether any line (MSH too) had
    blanks at its start or end."""
    fs, known = plan.F, _KNOWN_IDS
    sids, marked = ["MSH"], [""]
    bare, blanks = False, lines[0].endswith((" ", "\t"))
    for line in lines[1:]:
        s = line.rstrip(" \t")
        if s is not line:  # CPython returns the same object when nothing was stripped
            blanks = True
        s = s.rstrip(fs)
        if not s:
            continue
        sid = s[:3]
        if s[3:4] != fs or sid not in known:
            blanks = blanks or s[:1] in (" ", "\t")
            s, sid = _check_segment(s, fs, len(sids) + 1)
            bare = bare or len(s) == 3
        sids.append(sid)
        marked.append(s.replace(fs, mark, 1))
    return sids, marked, bare, blanks


def _check_segment(s: str, fs: str, index: int) -> tuple[str, str]:
    if s[:1] in (" ", "\t"):
        s = s.lstrip(" \t")
    sid = s[:3]
    if not _SEGMENT_ID.match(sid) or s[3:4] not in (fs, ""):
        raise Hl7ParseError(100, "segment.id.invalid", f"segment {index}", segment_index=index)
    if sid in ENVELOPE_IDS:
        raise Hl7ParseError(100, "segment.header.misplaced", f"segment {index}", segment_id=sid,
                            segment_index=index)
    _KNOWN_IDS.add(sid)
    return s, sid


def _fast_run(body: str, mark: str, plan: _Plan) -> bytes:
    """JSON of consecutive segments (``["PID",...],["OBX",...]``, no outer brackets) by byte replacement
    over orjson output. Valid when the text holds no escape character and no backslash (the only JSON
    escapes are then for quotes and control characters, which no delimiter can touch) and every
    delimiter is JSON-safe. Segments are joined by DEL and the separator after each segment id is
    ``mark``, so both structures are single-byte replacements. Empty fields are collapsed right after
    the field separators are expanded, while the buffer is small."""
    (f, f_token), *others = plan.replaces
    j = (b"[" + _dumps(body) + b"]]]]").replace(mark.encode(), b'",[[["').replace(f, f_token)
    j = j.replace(b'[[[""]]]', b"[]").replace(b"\x7f", b'"]]]],["')
    for old, new in others:
        j = j.replace(old, new)
    return j.replace(b'["MSH",', plan.msh_prefix, 1) if j.startswith(b'["MSH",') else j


def _mixed_json(msh_fields: list[str], sids: list[str], marked: list[str], mark: str, plan: _Plan,
                charset: str) -> bytes:
    """Segments that need decoding (escapes, backslashes, bare ids) by the reference builder; the runs
    of plain segments between them by the fast path."""
    parts: list[bytes] = []
    run: list[str] = []
    for i, line in enumerate(marked):
        if len(line) > 3 and plan.E not in line and "\\" not in line:
            run.append(line)
            continue
        if run:
            parts.append(_fast_run(_SEG.join(run), mark, plan))
            run = []
        if i == 0:
            parts.append(_dumps(_reference_segments(msh_fields, ["MSH"], [""], plan, charset)[0]))
        else:
            parts.append(_dumps(_segment(sids[i], line[4:], plan, charset)))
    if run:
        parts.append(_fast_run(_SEG.join(run), mark, plan))
    return b"[" + b",".join(parts) + b"]"


_EMPTY_FIELD = [[[""]]]


def _reference_segments(msh_fields: list[str], sids: list[str], rests: list[str], plan: _Plan,
                        charset: str) -> list:
    """The document built field by field (any delimiters, escapes decoded); the fast path's oracle."""
    msh: list[Any] = ["MSH", [[[plan.F]]], [[[plan.d.encoding_characters]]]]
    msh.extend(_field(f, plan, charset) for f in msh_fields[2:])
    return [msh] + [_segment(sid, rest, plan, charset) for sid, rest in zip(sids[1:], rests[1:], strict=True)]


def _segment(sid: str, rest: str, plan: _Plan, charset: str) -> list:
    seg: list[Any] = [sid]
    if rest:
        seg.extend(_field(f, plan, charset) for f in rest.split(plan.F))
    return seg


def _field(f: str, plan: _Plan, charset: str) -> list:
    if not f:
        return []
    value = [[[unescape(x, plan, charset) for x in c.split(plan.S)] for c in r.split(plan.C)]
             for r in f.split(plan.R)]
    return [] if value == _EMPTY_FIELD else value


def reference_segments(raw: bytes, *, default_charset: str = "utf-8") -> list:
    """The document of ``raw`` by the slow field-by-field builder (tests compare it with the fast path)."""
    msg = parse_message(raw, default_charset=default_charset)
    data = raw[3:] if raw[:3] == _BOM else raw
    text = data.lstrip(b" \t\r\n").decode(msg.charset).replace("\r\n", "\r").replace("\n", "\r")
    plan = _plan(msg.delimiters.field, msg.delimiters.encoding_characters)
    lines = text.split("\r")
    sids, marked, _, _ = _clean_segments(lines, plan, plan.F)
    msh_fields = lines[0].rstrip(" \t").rstrip(plan.F).split(plan.F)
    return _reference_segments(msh_fields, sids, [line[4:] for line in marked], plan, msg.charset)

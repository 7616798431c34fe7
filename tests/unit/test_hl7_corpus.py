"""Every HL7 v2 file of the shared public corpus: split, then each piece parses or is rejected with a code,
rule and field path (never another exception); parsed messages agree field by field with hl7apy."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from connectors.hl7.parse import ERROR_TEXT, Hl7ParseError, parse_message, reference_segments, unescape
from connectors.hl7.split import split_messages

CORPUS = Path(__file__).parents[2].parent / "shared" / "corpus"
HL7_DIR = CORPUS / "hl7v2"
needs_corpus = pytest.mark.corpus("hl7v2")  # skipped where the corpus is missing, failed in CI (tests/conftest.py)

# Outcome of every piece, in file order, comma-separated: "ok", a non-message piece kind, or
# "<rule>@<field path>"; "x*n" repeats x. Rejections, and why:
# - draeger_ACK_watchdog: the published reference ACK leaves MSH-10 empty (required in every version).
# - hapi_example_oml_o21: messages 11 and 12 leave MSH-10 empty.
# - hapi_messages: '/* */' and '//' comment lines are junk pieces; one message has the 3-character
#   MSH-2 '^~}'.
# - hapi_uuencoded(_escaped): not messages, one junk piece each.
# - kbuvpocd_..._truncated: declares 8859/1 but carries UTF-8 '…' (C1 bytes) where the published
#   example was cut; the cut shifted the waveform into OBX-6.
# - lfh_sample_unix/_win: MSH-2 '^~\\&' repeats the escape character (a Java string literal copied).
# - rethink_invalid-*: no MSH (junk), segment id 'PIDX' (segment 2), MSH-12 '1.0'.
# hapi_omd_o03 parses: the manifest calls it run-on, but its segments are CR-separated.
EXPECTED = {
    "draeger_ACK_watchdog.txt": "msh.control_id.required@MSH-10",
    "draeger_PCD04_alarm.txt": "ok",
    "draeger_PCD04_watchdog.txt": "ok",
    "draeger_PCD05_alarm.txt": "ok",
    "hapi_ADT_A01.txt": "ok",
    "hapi_adt_a03.txt": "ok",
    "hapi_cv.04_001_chem.hl7": "ok",
    "hapi_example_oml_o21.hl7": "ok*10, msh.control_id.required@MSH-10*2, ok",
    "hapi_messages.txt": "junk, ok, junk, ok*2, junk, msh.encoding_characters@MSH-2, junk, ok, junk, ok, "
                         "junk, ok*2, junk, ok, junk, ok, junk, ok, junk, ok, junk, ok*6, junk",
    "hapi_omd_o03.txt": "ok",
    "hapi_omd_o03_rep.txt": "ok",
    "hapi_segmentfinder_a24.hl7": "ok",
    "hapi_uuencoded.txt": "junk",
    "hapi_uuencoded_escaped.txt": "junk",
    "kbuvpocd_philips_intellivue_mx500_pcd01_waveform_truncated.hl7": "charset.decode@OBX-6",
    "lfh_ORU-multiline-short-mixed.hl7": "ok",
    "lfh_ORU-multiline-short.hl7": "ok",
    "lfh_sample_unix.hl7": "msh.encoding_characters@MSH-2",
    "lfh_sample_win.hl7": "msh.encoding_characters@MSH-2",
    "msfhirconv_ADT-A01-01.hl7": "ok",
    "msfhirconv_ADT-A03-01.hl7": "ok",
    "msfhirconv_ADT-A04-01.hl7": "ok",
    "msfhirconv_ADT-A08-01.hl7": "ok",
    "msfhirconv_ADT-A40-01.hl7": "ok",
    "msfhirconv_ADT01-23.hl7": "ok",
    "msfhirconv_ADT04-251.hl7": "ok",
    "msfhirconv_BAR-P01-01.hl7": "ok",
    "msfhirconv_DFT-P03-01.hl7": "ok",
    "msfhirconv_IZ_1_1.1_Admin_Child_Max_Message.hl7": "ok",
    "msfhirconv_LAB-ORM-1.hl7": "ok",
    "msfhirconv_LAB-ORU-1.hl7": "ok",
    "msfhirconv_LRI_2.0-NG_CBC_Typ_Message.hl7": "ok",
    "msfhirconv_MDHHS-OML-O21-1.hl7": "ok",
    "msfhirconv_MDM-T02-03.hl7": "ok",
    "msfhirconv_MDM_01.hl7": "ok",
    "msfhirconv_OML-O21-01.hl7": "ok",
    "msfhirconv_ORM-O01-01.hl7": "ok",
    "msfhirconv_ORU-R01-01.hl7": "ok",
    "msfhirconv_ORU-R01-RMGEAD.hl7": "ok",
    "msfhirconv_OUL-R22-01.hl7": "ok",
    "msfhirconv_PC1-Problem-Add-v2.3.1.hl7": "ok",
    "msfhirconv_RDE-O11-01.hl7": "ok",
    "msfhirconv_REF-I12-01.hl7": "ok",
    "msfhirconv_REF-I14-02.hl7": "ok",
    "msfhirconv_SIU-S12-01.hl7": "ok",
    "msfhirconv_SIU-S14-01.hl7": "ok",
    "msfhirconv_SIU_12.hl7": "ok",
    "msfhirconv_VXU-V04-01.hl7": "ok",
    "rethink_adt-a01-basic.hl7": "ok",
    "rethink_adt-a01-full.hl7": "ok",
    "rethink_dft-p03-charge.hl7": "ok",
    "rethink_edge-crlf-line-endings.hl7": "ok",
    "rethink_edge-custom-delimiters.hl7": "ok",
    "rethink_edge-empty-segments.hl7": "ok",
    "rethink_edge-escaped-delimiters.hl7": "ok",
    "rethink_edge-field-repetitions.hl7": "ok",
    "rethink_edge-non-ascii.hl7": "ok",
    "rethink_edge-z-segments.hl7": "ok",
    "rethink_invalid-missing-msh.hl7": "junk",
    "rethink_invalid-segment-header-length.hl7": "segment.id.invalid@segment 2",
    "rethink_invalid-trailing-empty-fields.hl7": "ok",
    "rethink_invalid-wrong-version.hl7": "version.unsupported@MSH-12",
    "rethink_mdm-t02-document.hl7": "ok",
    "rethink_orm-o01-order.hl7": "ok",
    "rethink_oru-r01-lab.hl7": "ok",
    "rethink_siu-s12-schedule.hl7": "ok",
}
# Messages hl7apy 1.3.5 itself refuses (segments unknown to its tables for the declared version).
HL7APY_REFUSES = {("hapi_messages.txt", 1095), ("msfhirconv_MDHHS-OML-O21-1.hl7", 0),
                  ("msfhirconv_ORU-R01-01.hl7", 0)}
FILES = sorted(EXPECTED)


def _expand(spec: str) -> list[str]:
    out: list[str] = []
    for item in spec.split(", "):
        name, _, count = item.partition("*")
        out += [name] * int(count or 1)
    return out


def _messages() -> list[tuple[str, int, bytes]]:
    return [(name, p.offset, p.data) for name in FILES
            for p in split_messages((HL7_DIR / name).read_bytes()) if p.kind == "message"]


@needs_corpus
def test_expectations_cover_the_corpus() -> None:
    assert sorted(p.name for p in HL7_DIR.iterdir()) == FILES


@needs_corpus
@pytest.mark.parametrize("name", FILES)
def test_each_piece_parses_or_is_rejected_with_a_reason(name: str) -> None:
    outcomes = []
    for piece in split_messages((HL7_DIR / name).read_bytes()):
        if piece.kind != "message":
            outcomes.append(piece.kind)
            continue
        try:
            parse_message(piece.data)
            outcomes.append("ok")
        except Hl7ParseError as err:  # any other exception fails the test
            assert err.code in ERROR_TEXT and err.rule and err.field_path
            assert str(err) == f"{err.field_path}: {ERROR_TEXT[err.code].lower()} (rule {err.rule})"
            outcomes.append(f"{err.rule}@{err.field_path}")
    assert outcomes == _expand(EXPECTED[name])


@needs_corpus
@pytest.mark.parametrize("name", FILES)
def test_splitting_drops_nothing(name: str) -> None:
    raw = (HL7_DIR / name).read_bytes()
    covered = bytearray(len(raw))
    for piece in split_messages(raw):
        assert raw[piece.offset:piece.offset + len(piece.data)] == piece.data
        covered[piece.offset:piece.offset + len(piece.data)] = b"\x01" * len(piece.data)
    left_out = bytes(b for b, c in zip(raw, covered, strict=True) if not c)
    assert not left_out.strip(b" \t\r\n\xef\xbb\xbf")


@needs_corpus
@pytest.mark.parametrize("name", FILES)
def test_streaming_gives_the_same_pieces(name: str) -> None:
    raw = (HL7_DIR / name).read_bytes()
    whole = [(p.kind, p.offset, p.data) for p in split_messages(raw)]
    for size in (1, 7, 4096):
        chunks = (raw[i:i + size] for i in range(0, len(raw), size))
        assert [(p.kind, p.offset, p.data) for p in split_messages(chunks)] == whole


@needs_corpus
def test_fast_document_equals_the_field_by_field_reference() -> None:
    checked = 0
    for _, _, data in _messages():
        try:
            msg = parse_message(data)
        except Hl7ParseError:
            continue
        assert orjson.loads(msg.segments_json) == reference_segments(data)
        assert msg.doc_json() == orjson.dumps(msg.doc())  # byte-identical, without building lists
        checked += 1
    assert checked == 80 + len(HL7APY_REFUSES)


# --- equivalence with hl7apy ---------------------------------------------------------------------------
# Mapping: hl7apy keeps escape sequences undecoded in leaf values (its to_er7() re-escapes), so a leaf
# compares as unescape(hl7apy text) == ours. It converts typed leaves (SI -> int, DTM -> datetime, NM),
# so the test wraps datatype_factory to keep the leaf text (tokenization is unaffected). It drops blank
# fields, and blank components/subcomponents of known datatypes, naming the rest by position
# (PID_5, XPN_2, VARIES_1); children it cannot name (positions beyond its tables, Z segments) keep only
# their order, so they are compared in order with our non-blank values at unnamed positions. Blank and
# absent compare equal. It strips each segment line, as we strip trailing blanks.

_NUMBERED = re.compile(r"_(\d+)$")


def _position(element: object) -> int | None:
    match = _NUMBERED.search(getattr(element, "name", None) or "")
    return int(match.group(1)) if match else None


def _leaf_text(element: object) -> str:
    value = element.value  # type: ignore[attr-defined]
    return value.value if hasattr(value, "value") else (value or "")


def _blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return all(_blank(v) for v in value)  # type: ignore[attr-defined]


def _apy_blank(element: object, level: int) -> bool:
    if level == 3:
        return not _leaf_text(element).strip()
    return all(_apy_blank(child, level + 1) for child in element.children)  # type: ignore[attr-defined]


class _Comparison:
    def __init__(self, delimiters: object) -> None:
        self.delimiters = delimiters
        self.diffs: list[str] = []

    def element(self, apy: object, ours: object, path: str, level: int) -> None:
        """level 1: a field repetition, 2: a component, 3: a subcomponent (leaf)."""
        if level == 3:
            text = unescape(_leaf_text(apy), self.delimiters)  # type: ignore[arg-type]
            if text != ours and not (_blank(ours) and not text.strip()):
                self.diffs.append(f"{path}: value")
        elif not (_blank(ours) and _apy_blank(apy, level)):
            self.children(apy.children, ours, path, level + 1)  # type: ignore[attr-defined]

    def children(self, apy_children: list, ours: list, path: str, level: int) -> None:
        numbered = [(p, c) for c in apy_children if (p := _position(c)) is not None]
        if numbered:
            unnamed = [c for c in apy_children if _position(c) is None and not _apy_blank(c, level)]
        else:  # base datatypes: hl7apy keeps every child, in place
            numbered, unnamed = list(enumerate(apy_children, 1)), []
        absent: object = [] if level < 3 else ""
        for p, child in numbered:
            self.element(child, ours[p - 1] if p <= len(ours) else absent, f"{path}.{p}", level)
        claimed = {p for p, _ in numbered}
        rest = [v for i, v in enumerate(ours, 1) if i not in claimed and not _blank(v)]
        self.sequence(unnamed, rest, f"{path}.?", level)

    def sequence(self, apy: list, ours: list, path: str, level: int) -> None:
        if len(apy) != len(ours):
            self.diffs.append(f"{path}: {len(ours)} values here, {len(apy)} in hl7apy")
        for child, mine in zip(apy, ours, strict=False):
            self.element(child, mine, path, level)

    def segment(self, apy_segment: object, ours: list) -> None:
        sid, fields = ours[0], ours[1:]
        groups: list[list] = []  # hl7apy gives one child per repetition: regroup them per field
        for child in apy_segment.children:  # type: ignore[attr-defined]
            if groups and _position(child) is not None and groups[-1][0].name == child.name:
                groups[-1].append(child)
            else:
                groups.append([child])
        named = {_position(g[0]): g for g in groups if _position(g[0]) is not None}
        for n, reps in named.items():
            mine = fields[n - 1] if n <= len(fields) else []
            if sid == "MSH" and n <= 2:
                if reps[0].to_er7() != mine[0][0][0]:
                    self.diffs.append(f"MSH-{n}")
            elif len(reps) != len(mine) and not (_blank(mine) and all(_apy_blank(r, 1) for r in reps)):
                self.diffs.append(f"{sid}-{n}: {len(mine)} repetitions here, {len(reps)} in hl7apy")
            else:
                for r, (rep, mine_rep) in enumerate(zip(reps, mine, strict=False), 1):
                    self.element(rep, mine_rep, f"{sid}-{n}[{r}]", 1)
        unnamed = [c for g in groups if _position(g[0]) is None for c in g if not _apy_blank(c, 1)]
        rest = [rep for n, f in enumerate(fields, 1) if n not in named for rep in f if not _blank(rep)]
        self.sequence(unnamed, rest, f"{sid}-?", 1)


@needs_corpus
def test_documents_equal_hl7apy_field_by_field(monkeypatch: pytest.MonkeyPatch) -> None:
    hl7apy_core = pytest.importorskip("hl7apy.core")
    from hl7apy.base_datatypes import ST
    from hl7apy.parser import parse_message as hl7apy_parse

    monkeypatch.setattr(hl7apy_core, "datatype_factory", lambda _datatype, value, *a, **k: ST(value))
    compared, refused, failures = 0, set(), {}
    for name, offset, data in _messages():
        try:
            msg = parse_message(data)
        except Hl7ParseError:
            continue
        text = data.decode(msg.charset).lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r")
        try:
            theirs = hl7apy_parse(text, find_groups=False)
        except Exception:  # noqa: BLE001 - hl7apy's own refusals are listed below
            refused.add((name, offset))
            continue
        comparison = _Comparison(msg.delimiters)
        ours = msg.segments
        if [s.name for s in theirs.children] != [s[0] for s in ours]:
            comparison.diffs.append("segment ids")
        else:
            for apy_segment, segment in zip(theirs.children, ours, strict=True):
                comparison.segment(apy_segment, segment)
        compared += 1
        if comparison.diffs:
            failures[f"{name}@{offset}"] = comparison.diffs[:5]
    assert failures == {}
    assert refused == HL7APY_REFUSES
    assert compared == 80


# --- file splitting, synthetic cases -----------------------------------------------------------------

M1 = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1\r"
M2 = b"MSH|^~\\&|B||||||ADT^A01|2|P|2.5\rPID|2\r"


def _pieces(data: object, **kwargs: object) -> list[tuple[str, int, bytes]]:
    return [(p.kind, p.offset, p.data) for p in split_messages(data, **kwargs)]  # type: ignore[arg-type]


def test_batch_envelopes_are_pieces_of_their_own() -> None:
    data = b"FHS|^~\\&|X\rBHS|^~\\&|X\r" + M1 + M2 + b"BTS|2\rFTS|1\r"
    assert _pieces(data) == [("file_header", 0, b"FHS|^~\\&|X"), ("batch_header", 11, b"BHS|^~\\&|X"),
                             ("message", 22, M1[:-1]), ("message", 60, M2[:-1]),
                             ("batch_trailer", 98, b"BTS|2"), ("file_trailer", 104, b"FTS|1")]


def test_blank_lines_inside_a_message_keep_it_whole_and_junk_after_a_blank_line_is_kept() -> None:
    first = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\r\n\r\nPID|1\r\n\r\nPV1|1"
    data = first + b"\r\n\r\n// note\r\nmore note\r\n" + M2
    assert _pieces(data) == [("message", 0, first), ("junk", 53, b"// note\r\nmore note"),
                             ("message", 73, M2[:-1])]
    assert [s[0] for s in parse_message(first).segments] == ["MSH", "PID", "PV1"]


def test_boms_mllp_bytes_and_lines_that_only_look_like_msh() -> None:
    assert _pieces(b"\xef\xbb\xbf" + M1 + b"\n\xef\xbb\xbf" + M2) == [("message", 3, M1[:-1]),
                                                                     ("message", 45, M2[:-1])]
    assert _pieces(b"\x0b" + M1 + b"\x1c\r\x0b" + M2 + b"\x1c\r") == [("message", 1, M1[:-1]),
                                                                     ("message", 42, M2[:-1])]
    assert _pieces(b"MSHX is not a header\r" + M1)[0] == ("junk", 0, b"MSHX is not a header")
    assert _pieces(b"BTS|1\rPID|orphan\r\rstuff\r" + M1)[:2] == [("batch_trailer", 0, b"BTS|1"),
                                                                ("junk", 6, b"PID|orphan\r\rstuff")]
    assert _pieces(b"\r\n \t\r\n") == []


def test_a_line_inside_a_message_that_is_no_segment_stays_in_it_and_fails_parsing() -> None:
    data = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rcontinued note text\rPID|1\r"
    [(kind, _, message)] = _pieces(data)
    assert kind == "message"
    with pytest.raises(Hl7ParseError) as err:
        parse_message(message)
    assert (err.value.rule, err.value.field_path) == ("segment.id.invalid", "segment 2")


def test_gb18030_bytes_split_on_line_starts_only() -> None:
    one = ("MSH|^~\\&|亅乗||||||ADT^A01|1|P|2.5||||||GB 18030-2000\r\nPID|||张亅\r\n").encode("gb18030")
    pieces = _pieces(one * 3, chunk_size=7)
    assert [p[0] for p in pieces] == ["message"] * 3
    assert all(parse_message(p[2]).segments[1][3] == [[["张亅"]]] for p in pieces)


def test_file_objects_are_read_in_chunks() -> None:
    import io

    data = (M1 + b"\n") * 50 + b"\ntrailing junk after a blank line"
    handle = io.BytesIO(data)
    assert _pieces(handle, chunk_size=10) == _pieces(data)
    assert len(_pieces(data)) == 51 and _pieces(data)[-1][0] == "junk"


def test_piece_repr_has_no_content() -> None:
    piece = next(split_messages(M1))
    assert repr(piece) == f"Piece(message, offset=0, {len(M1) - 1} bytes)"

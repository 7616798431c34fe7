"""The HL7 v2 tokenizer: document shape, escapes, delimiters, line endings, charsets and error rules."""

from __future__ import annotations

import pickle
import random

import orjson
import pytest

from connectors.hl7.parse import (
    DEFAULT_DELIMITERS,
    SUPPORTED_VERSIONS,
    Delimiters,
    Hl7ParseError,
    encode_field,
    escape,
    parse_message,
    reference_segments,
    unescape,
)

MSH = ("MSH|^~\\&|MONITOR^0012^EUI-64|ICU|WARDFLOW|HOSP|20261129120000+0800||ORU^R01^ORU_R01|CTRL-1|P|2.6"
       "|||NE|AL")


def msg(*segments: str, msh: str = MSH, sep: str = "\r") -> bytes:
    return (sep.join((msh, *segments)) + sep).encode()


def test_document_is_regular_and_indexed_by_field_number() -> None:
    m = parse_message(msg('PID|1||123^^^HOSP^MR~456^^^NAT^NI||DOE^JANE^^^^^L||19700101|F|||""'))
    msh, pid = m.segments
    assert msh[0] == "MSH" and msh[1] == [[["|"]]] and msh[2] == [[["^~\\&"]]]
    assert msh[3] == [[["MONITOR"], ["0012"], ["EUI-64"]]]
    assert msh[9] == [[["ORU"], ["R01"], ["ORU_R01"]]] and msh[10] == [[["CTRL-1"]]]
    assert pid[0] == "PID" and pid[1] == [[["1"]]]
    assert pid[2] == []                                    # empty field
    assert pid[3] == [[["123"], [""], [""], ["HOSP"], ["MR"]], [["456"], [""], [""], ["NAT"], ["NI"]]]
    assert pid[5][0][6] == ["L"]
    assert pid[11] == [[['""']]]                           # HL7 null kept literally
    assert len(pid) == 12


def test_trailing_empty_fields_and_blanks_are_dropped_but_inner_positions_kept() -> None:
    m = parse_message(msg("EVN|A01|20260101|||", "PID|1||x^||y~|| \t", "NTE|||text with space ||"))
    assert m.segments[1] == ["EVN", [[["A01"]]], [[["20260101"]]]]
    assert m.segments[2] == ["PID", [[["1"]]], [], [[["x"], [""]]], [], [[["y"]], [[""]]]]
    assert m.segments[3][3] == [[["text with space "]]]


def test_bare_segment_and_field_of_delimiters_only() -> None:
    m = parse_message(msg("PV1", "ZXY|^&~"))
    assert m.segments[1] == ["PV1"]
    assert m.segments[2] == ["ZXY", [[[""], ["", ""]], [[""]]]]


def test_header_fields() -> None:
    m = parse_message(msg("PID|1"))
    assert (m.sending_application, m.sending_facility) == ("MONITOR^0012^EUI-64", "ICU")
    assert (m.receiving_application, m.receiving_facility) == ("WARDFLOW", "HOSP")
    assert (m.message_type, m.trigger_event, m.message_structure) == ("ORU", "R01", "ORU_R01")
    assert (m.control_id, m.processing_id, m.version) == ("CTRL-1", "P", "2.6")
    assert m.message_datetime == "20261129120000+0800"
    assert (m.accept_ack_type, m.application_ack_type, m.charset_declared) == ("NE", "AL", "")
    assert m.charset == "utf-8" and m.delimiters == DEFAULT_DELIMITERS


def test_header_decodes_escapes_and_joins_hd_components_with_caret() -> None:
    msh = "MSH#!@%*#APP!1.2.3!ISO#FAC%T%X#RCV#RF#2026##ADT!A01#ID%F%1#P!T#2.5@x"
    m = parse_message(msg("PID#1", msh=msh))
    assert m.sending_application == "APP^1.2.3^ISO"
    assert m.sending_facility == "FAC*X"
    assert m.control_id == "ID#1" and m.processing_id == "P" and m.version == "2.5"


ESCAPE_CASES = [
    ("a\\F\\b", "a|b"), ("a\\S\\b", "a^b"), ("a\\T\\b", "a&b"), ("a\\R\\b", "a~b"), ("a\\E\\b", "a\\b"),
    ("\\X41\\\\X4243\\", "ABC"), ("\\XC3A9\\t\\XE4B8AD\\", "ét中"), ("line1\\.br\\line2", "line1\nline2"),
    ("\\H\\bold\\N\\", "bold"), ("\\Zcustom\\x", "\\Zcustom\\x"), ("\\.sp\\", "\\.sp\\"),
    ("\\X4\\", "\\X4\\"),
    ("\\XZZ\\", "\\XZZ\\"), ("\\XFF\\", "\\XFF\\"), ("lone \\ escape", "lone \\ escape"), ("\\P\\", "\\P\\"),
    ("\\\\", "\\\\"), ("a\\E\\\\F\\", "a\\|"),
]


@pytest.mark.parametrize(("wire", "text"), ESCAPE_CASES)
def test_unescape(wire: str, text: str) -> None:
    assert unescape(wire, DEFAULT_DELIMITERS) == text


def test_escapes_are_decoded_in_every_subcomponent_of_the_document() -> None:
    m = parse_message(msg("OBX|1|TX|NOTE||a\\F\\b^c\\S\\d&e\\T\\f~g\\R\\h\\E\\i\\.br\\j\\X41\\"))
    assert m.segments[1][5] == [[["a|b"], ["c^d", "e&f"]], [["g~h\\i\nj" + "A"]]]


def test_hex_escape_uses_the_message_charset() -> None:
    m = parse_message(msg("NTE|||\\XB0A1\\", msh=MSH + "||GB 18030-2000"))
    assert m.charset == "gb18030" and m.segments[1][3] == [[["啊"]]]


def test_truncation_character_and_its_escape() -> None:
    raw = b"MSH|^~\\&#||APP|||20191127||ORA^R41^ORA_R41|1||2.7\rNTE|||cut#\\P\\x\r"
    m = parse_message(raw)
    assert m.delimiters.truncation == "#" and str(m.delimiters) == "|^~\\&#"
    assert m.segments[0][2] == [[["^~\\&#"]]]
    assert m.segments[1][3] == [[["cut##x"]]]


def test_escape_and_encode_round_trip() -> None:
    d = Delimiters("|", "^", "~", "\\", "&", "#")
    for text in ("a|b^c&d~e\\f#g", "CR\rLF\n", "plain", ""):
        assert unescape(escape(text, d), d) == text
    field = [[["a|b", "c"], ["d"]], [["e^f"]]]
    wire = encode_field(field, d)
    assert wire == "a\\F\\b&c^d~e\\S\\f"
    m = parse_message(f"MSH|^~\\&#|||||||ADT^A01|1|P|2.7\rZZZ|{wire}\r".encode())
    assert m.segments[1][1] == field


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n"])
def test_line_endings_give_the_same_document(sep: str) -> None:
    reference = parse_message(msg("PID|1||x", "OBX|1|NM|y||42"))
    other = parse_message(msg("PID|1||x", "OBX|1|NM|y||42", sep=sep))
    assert other.segments == reference.segments and other.raw != reference.raw or sep == "\r"


def test_mixed_endings_bom_leading_and_trailing_whitespace_lines() -> None:
    raw = b"\xef\xbb\xbf \r\n" + MSH.encode() + b"\r\nPID|1\n\rPV1|1|I\n  \n\t\r\n"
    m = parse_message(raw)
    assert [s[0] for s in m.segments] == ["MSH", "PID", "PV1"]
    assert m.raw == raw


def test_custom_delimiters() -> None:
    m = parse_message(b"MSH#!@%*#SENDER#FAC#RECV#FAC#20260301120000##ADT!A01#MSG007#P#2.5\n"
                      b"PID#1##12345!!!MRN##DOE!JOHN!A@SMITH*JR##19800101#M\n")
    assert m.delimiters == Delimiters("#", "!", "@", "%", "*", None)
    assert m.segments[1][3] == [[["12345"], [""], [""], ["MRN"]]]
    assert m.segments[1][5] == [[["DOE"], ["JOHN"], ["A"]], [["SMITH", "JR"]]]
    m = parse_message(b"MSH^~|\\&^SENDING^200M^RECEIVING^200^20120918^^ADT~A24^2003582144^T^2.4\r\n"
                      b"PID^1^^11111~~~FOO&&0363|22~NI^^SMITH~JOHN\r\n")
    assert (m.message_type, m.trigger_event) == ("ADT", "A24")
    assert m.segments[1][3] == [[["11111"], [""], [""], ["FOO", "", "0363"]], [["22"], ["NI"]]]


def test_z_segments_are_kept() -> None:
    m = parse_message(msg("ZVN|1|CUSTOM|V1^V2"))
    assert m.segments[1] == ["ZVN", [[["1"]]], [[["CUSTOM"]]], [[["V1"], ["V2"]]]]


def test_doc_and_doc_json_agree_and_segments_are_cached() -> None:
    m = parse_message(msg('PID|1||"quoted"^x\x01y'))
    assert orjson.loads(m.doc_json()) == m.doc() == {"v": 1, "delimiters": "|^~\\&", "segments": m.segments}
    assert m.segments is m.segments
    assert m.segments[1][3] == [[['"quoted"'], ["x\x01y"]]]


GB_MSH = ("MSH|^~\\&|监护仪亅网关|北京协和医院乗|WARDFLOW|HOSP|20261129120000||ORU^R01^ORU_R01|GB-1|P|2.6"
          "|||AL|NE||GB 18030-2000")


def test_gb18030_message_with_delimiter_valued_trail_bytes() -> None:
    # '亅' is 0x81 0x7C ('|' as trail byte) and '乗' 0x81 0x5C (the escape character).
    raw = (GB_MSH + "\rPID|||123^^^HOSP^MR||张亅^三乛||19700101|M\rOBX|1|ST|x||备注乗亊||||||F\r").encode("gb18030")
    assert b"\x81|" in raw and b"\x81\\" in raw
    m = parse_message(raw)
    assert m.charset == "gb18030" and m.charset_declared == "GB 18030-2000"
    assert (m.sending_application, m.sending_facility) == ("监护仪亅网关", "北京协和医院乗")
    assert m.segments[1][5] == [[["张亅"], ["三乛"]]] and m.segments[2][5] == [[["备注乗亊"]]]


@pytest.mark.parametrize(("declared", "codec"), [
    ("UNICODE UTF-8", "utf-8"), ("8859/1", "latin-1"), ("8859/15", "iso8859-15"), ("ASCII", "ascii"),
    ("GB 18030-2000", "gb18030"), ("BIG-5", "big5"), ("KS X 1001", "euc_kr"), ("ISO IR87", "iso2022_jp"),
    ("UNICODE", "utf-8"), ("ISO-8859-1", "latin-1"), ("~ISO IR87", "iso2022_jp"),
])
def test_msh18_charsets(declared: str, codec: str) -> None:
    assert parse_message(msg("PID|1", msh=MSH + "||" + declared)).charset == codec


def test_default_charset_applies_when_msh18_is_empty() -> None:
    raw = msg("PID|||||王^小明").decode().encode("gb18030")
    assert parse_message(raw, default_charset="gb18030").segments[1][5] == [[["王"], ["小明"]]]
    with pytest.raises(Hl7ParseError) as err:
        parse_message(raw)
    assert (err.value.rule, err.value.field_path, err.value.code) == ("charset.decode", "PID-5", 102)


def error(raw: bytes) -> Hl7ParseError:
    with pytest.raises(Hl7ParseError) as info:
        parse_message(raw)
    return info.value


SECRET = "ZZSECRETNAMEZZ"


@pytest.mark.parametrize(("raw", "code", "rule", "path"), [
    (b"", 100, "message.empty", "segment 1"),
    (b"\xef\xbb\xbf \r\n", 100, "message.empty", "segment 1"),
    (f"PID|1||{SECRET}\r".encode(), 100, "msh.missing", "segment 1"),
    (b"MSH", 102, "msh.field_separator", "MSH-1"),
    (b"MSHA^~\\&A", 102, "msh.field_separator", "MSH-1"),
    (f"MSH|^~\\\\&|{SECRET}||||||ADT^A01|1|P|2.5\r".encode(), 102, "msh.encoding_characters", "MSH-2"),
    (b"MSH|^~}|A|||||||ADT^A01|1|P|2.5\r", 102, "msh.encoding_characters", "MSH-2"),
    (b"MSH|^~\\&#!|A|||||||ADT^A01|1|P|2.5\r", 102, "msh.encoding_characters", "MSH-2"),
    (b"MSH|^~|&|A|||||||ADT^A01|1|P|2.5\r", 102, "msh.encoding_characters", "MSH-2"),
    (b"MSH|ABCD|A|||||||ADT^A01|1|P|2.5\r", 102, "msh.encoding_characters", "MSH-2"),
    (f"MSH|^~\\&|{SECRET}||||||^A01|1|P|2.5\r".encode(), 101, "msh.message_type.required", "MSH-9"),
    (f"MSH|^~\\&|{SECRET}||||||ADT^A01||P|2.5\r".encode(), 101, "msh.control_id.required", "MSH-10"),
    (f"MSH|^~\\&|{SECRET}||||||ADT^A01|1|P\r".encode(), 101, "msh.version.required", "MSH-12"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|1.0\r", 203, "version.unsupported", "MSH-12"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.9\r", 203, "version.unsupported", "MSH-12"),
    (f"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPIDX|{SECRET}\r".encode(), 100, "segment.id.invalid", "segment 2"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1\rPV|1\r", 100, "segment.id.invalid", "segment 3"),
    (f"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\r{SECRET}|x\r".encode(), 100, "segment.id.invalid", "segment 2"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rpid|1\r", 100, "segment.id.invalid", "segment 2"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\r1AB|1\r", 100, "segment.id.invalid", "segment 2"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1\rMSH|^~\\&|B\r", 100, "segment.header.misplaced", "segment 3"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rBTS|1\r", 100, "segment.header.misplaced", "segment 2"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||KOI8\r", 103, "charset.unknown", "MSH-18"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||UNICODE UTF-16\r", 103, "charset.unsupported", "MSH-18"),
    (f"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1||\xff{SECRET}\r".encode("latin-1"), 102, "charset.decode",
     "PID-3"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||ASCII\rNTE|||caf\xc3\xa9\r", 102, "charset.decode", "NTE-3"),
    (b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/1\rNTE|1||\xe2\x80\xa6\r", 102, "charset.decode", "NTE-3"),
    (b"MSH|^~\\&|\xff||||||ADT^A01|1|P|2.5\r", 102, "charset.decode", "MSH-3"),
])
def test_rules(raw: bytes, code: int, rule: str, path: str) -> None:
    err = error(raw)
    assert (err.code, err.rule, err.field_path) == (code, rule, path)
    rendered = str(err) + repr(err) + repr(err.args) + repr(vars(err))
    assert SECRET not in rendered and "\xff" not in rendered
    assert str(err).endswith(f"(rule {rule})") and str(err).startswith(f"{path}: ")


def test_error_location_attributes_and_pickling() -> None:
    err = error(b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1\rOBX|1|ST|x||\xff\r")
    assert (err.segment_id, err.segment_index, err.field_position) == ("OBX", 3, 5)
    assert str(err) == "OBX-5: data type error (rule charset.decode)"
    again = pickle.loads(pickle.dumps(err))
    assert (again.code, again.rule, again.field_path) == (102, "charset.decode", "OBX-5")
    assert again.segment_index == 3
    invalid = error(b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rSmi th|x\r")
    assert invalid.segment_id is None and invalid.segment_index == 2  # an invalid id may be content


@pytest.mark.parametrize("version", sorted(SUPPORTED_VERSIONS))
def test_every_supported_version(version: str) -> None:
    assert parse_message(f"MSH|^~\\&|A||||||ADT^A01|1|P|{version}\r".encode()).version == version


def test_repr_shows_no_content() -> None:
    m = parse_message(msg(f"PID|1||{SECRET}"))
    assert SECRET not in repr(m)
    assert repr(m) == f"Hl7Message(ORU^R01 v2.6, 2 segments, {len(m.raw)} bytes)"
    decoded = parse_message(msg("PV1", "NTE|||\\H\\"))  # a bare segment and an escape: built field by field
    assert repr(decoded).startswith("Hl7Message(ORU^R01 v2.6, 3 segments,")
    assert decoded.segments[1:] == [["PV1"], ["NTE", [], [], []]]


def _random_message(rng: random.Random) -> bytes:
    """Messages mixing every structure the fast path could get wrong."""
    delims = rng.choice(["|^~\\&", "|^~\\&#", "#!@%*", "^~|\\&", "|^~%&", "|,~\\&", '|^~\\"'])
    f, c, r, e, s = delims[:5]
    alphabet = ["a", "Z", "1", " ", '"', "é", "中", "\t", "\x01", "\x7f", "[", "]", ",", "{", ":", "\\", "/",
                c, r, s, e, f"{e}F{e}", f"{e}T{e}", f"{e}X41{e}", f"{e}.br{e}", '""', "u0041"]
    if rng.random() < 0.6:  # half the time no escapes at all: the fast path's territory
        alphabet = [a for a in alphabet if e not in a and "\\" not in a and a != "\x7f"]

    def value() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))).replace(f, "")

    segments = [f"MSH{f}{delims[1:]}{f}APP{f}FAC{f}{f}{f}2026{f}{f}ADT{c}A01{f}ID{f}P{f}2.7"]
    for _ in range(rng.randint(0, 6)):
        sid = rng.choice(["PID", "OBX", "ZZ1", "NTE"])
        segments.append(sid + "".join(f + value() for _ in range(rng.randint(0, 8))))
    sep = rng.choice(["\r", "\n", "\r\n"])
    return (sep.join(segments) + sep).encode()


def test_fast_path_equals_reference_on_random_messages() -> None:
    rng = random.Random(20261129)
    for _ in range(3000):
        raw = _random_message(rng)
        try:
            m = parse_message(raw)
        except Hl7ParseError as err:
            assert err.rule in ("segment.id.invalid", "msh.encoding_characters")
            continue
        assert orjson.loads(m.segments_json) == reference_segments(raw), raw
        assert m.doc_json() == orjson.dumps(m.doc())  # byte-identical: landing may use either

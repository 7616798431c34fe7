"""Acknowledgements: modes, mirrored header, MSA/ERR content without faulty values, delimiters, charsets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from connectors.hl7.ack import ack_code, ack_mode, build_ack, wants_application_ack, wants_commit_ack
from connectors.hl7.parse import Hl7ParseError, parse_message

NOW = datetime(2026, 11, 29, 12, 30, 5, tzinfo=timezone(timedelta(hours=8)))
SECRET = "ZZSECRETZZ"


def message(msh15: str = "", msh16: str = "", version: str = "2.6", enc: str = "^~\\&") -> bytes:
    return (f"MSH|{enc}|MONITOR^0012^EUI-64|ICU|WARDFLOW|HOSP|20261129120000||ORU^R01^ORU_R01|CTRL-7|P|"
            f"{version}|||{msh15}|{msh16}\rPID|||{SECRET}^^^HOSP^MR\rOBX|1|NM|x||42\r").encode()


def segments(ack: bytes, charset: str = "ascii") -> list[list[str]]:
    text = ack.decode(charset)
    assert text.endswith("\r") and "\n" not in text
    return [s.split("|") for s in text[:-1].split("\r")]


def test_original_mode() -> None:
    msg = parse_message(message())
    assert ack_mode(msg) == "original"
    assert not wants_commit_ack(msg, "accept") and wants_application_ack(msg, "accept")
    assert wants_application_ack(msg, "reject") and ack_code(msg, "accept") == "AA"
    assert [ack_code(msg, o) for o in ("accept", "error", "reject")] == ["AA", "AE", "AR"]


@pytest.mark.parametrize(("msh15", "outcome", "wanted"), [
    ("AL", "accept", True), ("AL", "reject", True), ("NE", "accept", False), ("NE", "error", False),
    ("ER", "accept", False), ("ER", "error", True), ("ER", "reject", True), ("SU", "accept", True),
    ("SU", "reject", False), ("", "accept", True),
])
def test_enhanced_mode_commit_conditions(msh15: str, outcome: str, wanted: bool) -> None:
    msg = parse_message(message(msh15, "NE" if msh15 else "AL"))
    assert ack_mode(msg) == "enhanced"
    assert wants_commit_ack(msg, outcome) is wanted  # type: ignore[arg-type]


def test_enhanced_mode_application_conditions_and_codes() -> None:
    msg = parse_message(message("AL", "ER"))
    assert not wants_application_ack(msg, "accept") and wants_application_ack(msg, "error")
    assert [ack_code(msg, o) for o in ("accept", "error", "reject")] == ["CA", "CE", "CR"]
    assert ack_code(msg, "error", commit=False) == "AE"
    assert wants_commit_ack(None, "reject") and wants_application_ack(None, "reject")
    with pytest.raises(ValueError):
        wants_commit_ack(msg, "maybe")  # type: ignore[arg-type]


def test_ack_mirrors_the_header_and_echoes_the_control_id() -> None:
    msg = parse_message(message("AL", "NE"))
    ack = build_ack(msg, "CA", control_id="ACK-1", now=NOW)
    msh, msa = segments(ack)
    assert msh[:6] == ["MSH", "^~\\&", "WARDFLOW", "HOSP", "MONITOR^0012^EUI-64", "ICU"]
    assert msh[6] == "20261129123005+0800"
    assert msh[8:12] == ["ACK^R01^ACK", "ACK-1", "P", "2.6"]
    assert msa == ["MSA", "CA", "CTRL-7"]
    parsed = parse_message(ack)
    assert (parsed.message_type, parsed.trigger_event, parsed.message_structure) == ("ACK", "R01", "ACK")
    assert (parsed.sending_application, parsed.receiving_application) == ("WARDFLOW", "MONITOR^0012^EUI-64")


def test_error_ack_v25_has_err_location_and_code_but_no_content() -> None:
    msg = parse_message(message(version="2.5.1"))
    err = Hl7ParseError(102, "pid.identifier.format", "PID-3", segment_id="PID", segment_index=2,
                        field_position=3)
    ack = build_ack(msg, "AE", error=err, control_id="ACK-2", now=NOW)
    assert segments(ack)[1:] == [["MSA", "AE", "CTRL-7"],
                                 ["ERR", "", "PID^2^3", "102^Data type error^HL70357", "E", "", "", "",
                                  "rule pid.identifier.format"]]
    assert SECRET.encode() not in ack


def test_a_retryable_error_names_its_rule_and_wait_in_err8() -> None:
    msg = parse_message(message(version="2.6"))
    err = Hl7ParseError(207, "mllp.rate_limited", "message", retry_after_s=1.5)
    err_segment = segments(build_ack(msg, "AE", error=err, control_id="A", now=NOW))[2]
    assert err_segment[3:5] == ["207^Application internal error^HL70357", "E"]
    assert err_segment[8] == "rule mllp.rate_limited; retry after 1.5 s"


@pytest.mark.parametrize(("version", "msh9"), [("2.1", "ACK"), ("2.2", "ACK^R01"), ("2.3", "ACK^R01"),
                                                ("2.3.1", "ACK^R01^ACK"), ("2.4", "ACK^R01^ACK")])
def test_older_versions_use_err1_and_their_msh9_form(version: str, msh9: str) -> None:
    msg = parse_message(message(version=version))
    err = Hl7ParseError(101, "obx.value.required", "OBX-5", segment_id="OBX", segment_index=3,
                        field_position=5)
    msh, msa, err_segment = segments(build_ack(msg, "AE", error=err, control_id="A", now=NOW))
    assert msh[8] == msh9 and msh[11] == version
    assert err_segment == ["ERR", "OBX^3^5^101&Required field missing&HL70357"]


def test_five_encoding_characters_are_kept() -> None:
    raw = b"MSH|^~\\&#||MockAM|||20191127160543||ORA^R41^ORA_R41|0||2.7\r\nOBR|||0^3d31\r\n"
    ack = build_ack(parse_message(raw), "AA", control_id="9", now=NOW)
    assert ack.startswith(b"MSH|^~\\&#||||MockAM|") and parse_message(ack).delimiters.truncation == "#"


def test_custom_delimiters_are_used_in_the_ack() -> None:
    raw = b"MSH#!@%*#SENDER#FAC#RECV#FAC2#20260301120000##ADT!A01#MSG007#P#2.5\nPID#1\n"
    msh, msa = segments(build_ack(parse_message(raw), "AA", control_id="C!1", now=NOW))
    assert msh[0].startswith("MSH#!@%*#RECV#FAC2#SENDER#FAC#")
    assert "ACK!A01!ACK#C%S%1#P#2.5" in msh[0] and msa == ["MSA#AA#MSG007"]


def test_gb18030_round_trip() -> None:
    raw = ("MSH|^~\\&|监护仪亅网关|北京协和医院乗|WARDFLOW|病区|20261129||ORU^R01^ORU_R01|GB-1|P|2.6|||AL|NE||"
           "GB 18030-2000\rPID|||1\r").encode("gb18030")
    ack = build_ack(parse_message(raw), "CA", control_id="ACK-GB", now=NOW)
    parsed = parse_message(ack)
    assert parsed.charset == "gb18030" and parsed.charset_declared == "GB 18030-2000"
    assert (parsed.sending_application, parsed.sending_facility) == ("WARDFLOW", "病区")
    assert (parsed.receiving_application, parsed.receiving_facility) == ("监护仪亅网关", "北京协和医院乗")
    assert parsed.segments[1] == ["MSA", [[["CA"]]], [[["GB-1"]]]]


def reject(raw: bytes) -> tuple[Hl7ParseError, list[list[str]]]:
    with pytest.raises(Hl7ParseError) as info:
        parse_message(raw)
    ack = build_ack(None, "AR", error=info.value, control_id="NAK-1", now=NOW, raw=raw)
    return info.value, segments(ack, "utf-8")


def test_unparsable_message_gets_an_ack_that_echoes_only_its_control_id() -> None:
    err, (msh, msa, err_segment) = reject(
        b"MSH|^~\\&|SENDER|FAC|RECV|FAC|20260301120000||ADT^A01|MSG001|P|1.0\rPID|1\r")
    assert err.rule == "version.unsupported"
    assert msh[2:6] == ["", "", "", ""] and msh[8] == "ACK^^ACK" and msh[10] == "P" and msh[11] == "2.5"
    assert "1.0" not in msh and msa == ["MSA", "AR", "MSG001"]
    assert err_segment == ["ERR", "", "MSH^1^12", "203^Unsupported version id^HL70357", "E", "", "", "",
                           "rule version.unsupported"]


def test_an_identifier_in_the_routing_fields_of_an_unparsable_message_is_not_sent_back() -> None:
    _, (msh, msa, _) = reject(f"MSH|^~\\&|{SECRET}|{SECRET}|{SECRET}|{SECRET}|2026||ADT^{SECRET}|M9|{SECRET}|"
                              f"2.5\rPID|1\rXX\r".encode())
    assert SECRET not in "|".join(msh) and msa == ["MSA", "AR", "M9"]


def test_missing_control_id_and_bad_encoding_characters() -> None:
    _, (msh, msa, err_segment) = reject(b"MSH|^~\\&#|||||20191127||ACK^R40|||2.7\r\nMSA|CA|x\r\n")
    assert msh[1] == "^~\\&#" and msa == ["MSA", "AR", ""] and err_segment[2] == "MSH^1^10"
    _, (msh, msa, err_segment) = reject(b"MSH|^~\\\\&|SE050|050|PACS|050|2012||ADT^A01|102|T|2.6\r")
    assert msh[1] == "^~\\&" and msh[2:6] == ["", "", "", ""] and msa[2] == "102"
    assert err_segment[2:5] == ["MSH^1^2", "102^Data type error^HL70357", "E"]


def test_no_msh_at_all_and_invalid_segment() -> None:
    _, (msh, msa, err_segment) = reject(f"PID|1||{SECRET}\r".encode())
    assert msh[:2] == ["MSH", "^~\\&"] and msh[2:6] == ["", "", "", ""] and msa == ["MSA", "AR", ""]
    assert err_segment[2] == "^1"
    err, (msh, msa, err_segment) = reject(f"MSH|^~\\&|S||||2026||ADT^A01|M1|P|2.5\r{SECRET}|1\r".encode())
    assert err_segment[2] == "^2" and msa[2] == "M1"


def test_undecodable_bytes_are_never_echoed() -> None:
    raw = "MSH|^~\\&|APP|医院|RCV|F|2026||ADT^A01|M2|P|2.5||||||UNICODE UTF-8\rPID|1||\udcff\r"
    err, (msh, msa, err_segment) = reject(raw.encode("utf-8", errors="surrogateescape"))
    assert err.field_path == "PID-3" and msh[2:6] == ["", "", "", ""] and msh[17] == "UNICODE UTF-8"
    assert msa == ["MSA", "AR", "M2"] and err_segment[2] == "PID^2^3"
    # An undecodable MSH: nothing after the first non-ASCII byte can be trusted, nor is it echoed.
    raw = "MSH|^~\\&|APP|\udcff院|RCV|F|2026||ADT^A01|M3|P|2.5\rPID|1\r"
    err, (msh, msa, err_segment) = reject(raw.encode("utf-8", errors="surrogateescape"))
    assert err.field_path == "MSH-4" and msh[2:6] == ["", "", "", ""] and msa == ["MSA", "AR", ""]


def test_unknown_charset_is_not_echoed_and_gb18030_fields_survive_a_failed_parse() -> None:
    _, (msh, msa, err_segment) = reject(b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|M4|P|2.5||||||KOI8\r")
    assert len(msh) == 12 and msh[2:6] == ["", "", "", ""] and err_segment[2] == "MSH^1^18"
    raw = ("MSH|^~\\&|监护仪亅网关|医院|W|H|2026||ADT^A01|M5|P|2.5||||||GB 18030-2000\rPIDX|1\r").encode("gb18030")
    with pytest.raises(Hl7ParseError) as info:
        parse_message(raw)
    ack = build_ack(None, "AR", error=info.value, control_id="N", now=NOW, raw=raw)
    msh = segments(ack, "gb18030")[0]
    assert msh[2:6] == ["", "", "", ""] and msh[17] == "GB 18030-2000" and segments(ack, "gb18030")[1][2] == "M5"


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError):
        build_ack(None, "OK", control_id="x", now=NOW)

"""--validate strict: hl7apy's reference structures judge the message; reasons never quote content."""

from connectors.hl7.parse import parse_message
from connectors.hl7.validate import strict_error

GOOD = (b"MSH|^~\\&|HIS|H1|WF|H1|20261101080000||ADT^A01^ADT_A01|C1|P|2.5\r"
        b"EVN|A01|20261101080000\r"
        b"PID|1||M1^^^HIS^MR||Secretname^Zed||19800101|M\r"
        b"PV1|1|I|ICU^301^1\r")


def test_a_well_formed_adt_passes_strict_validation():
    assert strict_error(parse_message(GOOD)) is None


def test_a_value_too_long_fails_without_quoting_it():
    raw = GOOD.replace(b"PID|1||M1", b"PID|1|" + b"9" * 300 + b"|M1")
    error = strict_error(parse_message(raw))
    assert error is not None and error.rule.startswith("strict.")
    assert "999" not in str(error)


def test_a_segment_repeated_beyond_its_cardinality_fails():
    raw = GOOD.replace(b"PV1|", b"PID|1||M2^^^HIS^MR||Secretname^Zed||19800101|M\rPV1|")
    error = strict_error(parse_message(raw))
    assert error is not None and error.code == 100 and "Secretname" not in str(error)


def test_versions_hl7apy_does_not_know_are_refused():
    raw = GOOD.replace(b"|P|2.5", b"|P|2.2")
    assert strict_error(parse_message(raw)).rule == "strict.version"

"""Field names and types come from hl7apy's reference data, looked up once per version and segment."""

from connectors.hl7.parse import parse_message
from connectors.hl7.reference import describe, field_reference, segment_fields
from connectors.hl7.split import split_messages


def test_names_types_and_cardinality():
    ref = field_reference("2.6", "OBX", 18)
    assert (ref.name, ref.datatype) == ("EQUIPMENT_INSTANCE_IDENTIFIER", "EI") and ref.max_occurs == -1
    assert describe("2.5", "MSH-10") == "MSH-10 MESSAGE_CONTROL_ID (ST)"
    assert describe("2.5", "ZPD-1") == "ZPD-1" and describe("2.5", "segment 3") == "segment 3"


def test_every_field_wardflow_generates_is_a_standard_field(tmp_path):
    """Synthetic PCD-01 and ADT messages use only fields the HL7 reference defines for their version."""
    from connectors.synthetic import generate

    generate(tmp_path, patients=3, days=1, devices=1, seed=5)
    checked = 0
    for path in sorted((tmp_path / "hl7").rglob("*.hl7")):
        for piece in split_messages(path.read_bytes()):
            msg = parse_message(piece.data)
            for seg in msg.segments:
                fields = segment_fields(msg.version, seg[0])
                assert fields, (msg.version, seg[0])
                populated = [n for n in range(1, len(seg)) if seg[n]]
                assert max(populated, default=0) <= max(fields), (msg.version, seg[0])
                checked += 1
    assert checked > 50

"""HL7 v2 reference data (from hl7apy, cached): the name, data type and cardinality of a segment's fields
for a version. Used to name fields in reasons and reports ("PID-5 PATIENT_NAME (XPN)") without building
hl7apy trees on the hot path: one lookup per (version, segment), then a dict access.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

KNOWN_VERSIONS = ("2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")


@dataclass(frozen=True, slots=True)
class FieldReference:
    segment: str
    position: int
    name: str  # e.g. PATIENT_NAME
    datatype: str  # e.g. XPN
    min_occurs: int
    max_occurs: int  # -1: unbounded
    table: str | None  # HL7 table for coded values, e.g. HL70001

    @property
    def label(self) -> str:
        return f"{self.segment}-{self.position} {self.name} ({self.datatype})"


def _reference_version(version: str) -> str:
    """The closest version hl7apy ships reference data for (2.1/2.2 fall back to 2.3)."""
    from hl7apy import SUPPORTED_LIBRARIES

    if version in SUPPORTED_LIBRARIES:
        return version
    base = ".".join(version.split(".")[:2])
    return base if base in SUPPORTED_LIBRARIES else "2.3"


@lru_cache(maxsize=2048)
def segment_fields(version: str, segment: str) -> dict[int, FieldReference]:
    """Field references of one segment in one version; empty for Z-segments and unknown segments."""
    from hl7apy import load_reference
    from hl7apy.exceptions import ChildNotFound, InvalidName

    try:
        kind, children = load_reference(segment, "Segment", _reference_version(version))[:2]
    except (ChildNotFound, InvalidName, KeyError, ValueError):
        return {}
    out: dict[int, FieldReference] = {}
    for child in children:
        name, definition, (low, high) = child[0], child[1], child[2]
        position = int(name.rsplit("_", 1)[1])
        datatype, long_name, table = definition[2], definition[3], definition[4]  # same slots for leaf/sequence
        out[position] = FieldReference(segment, position, long_name, datatype, low, high, table)
    return out


def field_reference(version: str, segment: str, position: int) -> FieldReference | None:
    return segment_fields(version, segment).get(position)


def describe(version: str, field_path: str) -> str:
    """'PID-5' → 'PID-5 PATIENT_NAME (XPN)' when the reference knows it; the path unchanged otherwise."""
    segment, _, rest = field_path.partition("-")
    position = rest.split(".")[0].split("[")[0]
    if len(segment) != 3 or not position.isdigit():
        return field_path
    ref = field_reference(version, segment, int(position))
    return f"{field_path} {ref.name} ({ref.datatype})" if ref else field_path

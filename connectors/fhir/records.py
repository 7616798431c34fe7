"""What the FHIR reader hands to landing: one record per resource, or one per rejected piece of input.

Neither record shows its payload in ``repr``: content and raw bytes may hold personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FhirResource:
    """One FHIR R4 resource to land, at the grain of one resource (a Bundle is unpacked, never landed).

    ``content`` is the resource re-serialized compactly as UTF-8 JSON (orjson), key order as received.
    ``position`` is the entry index within ``bundle_id`` (0-based), else the NDJSON line number
    (1-based), else 0 for a single resource document.
    ``warnings`` name element paths and rules that did not block landing in lenient mode (no values).
    """

    resource_type: str
    resource_id: str | None
    full_url: str | None
    version_id: str | None
    last_updated: str | None
    content: bytes = field(repr=False)
    bundle_id: str | None
    bundle_type: str | None
    position: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FhirReject:
    """One piece of input that could not be landed as a resource, kept for ``landing.rejected``.

    ``rule`` names the broken rule, ``field_path`` where (JSON/FHIR path, "line N" for NDJSON),
    ``message`` says what in words: neither ever holds a value from the input.
    ``data`` holds the offending bytes (the caller encrypts them).
    """

    rule: str
    field_path: str
    message: str
    data: bytes = field(repr=False)
    position: int

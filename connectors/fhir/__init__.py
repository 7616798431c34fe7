"""FHIR R4 input → resources to land: JSON resources, Bundles (unpacked), NDJSON (streamed), FHIR XML.

``read_fhir`` yields a ``FhirResource`` per resource and a ``FhirReject`` per piece of input that cannot
be landed; ``looks_like_fhir`` sniffs the first bytes of an input. fhir.resources (slow to import) is
imported only when strict validation or XML conversion first needs it.
"""

from connectors.fhir.reader import looks_like_fhir, read_fhir
from connectors.fhir.records import FhirReject, FhirResource

__all__ = ["FhirReject", "FhirResource", "looks_like_fhir", "read_fhir"]

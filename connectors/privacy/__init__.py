"""Finding and removing personal data in values: detectors (Python) and their PostgreSQL twins (sql)."""

from connectors.privacy.detectors import DETECTORS, Detector, Span, configured, detect, scrub, scrub_known

__all__ = ["DETECTORS", "Detector", "Span", "configured", "detect", "scrub", "scrub_known"]

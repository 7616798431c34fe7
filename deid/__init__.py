"""Free-text de-identification for wardflow, in Python, with no dependency on the pipeline.

``scrub(text, known, shift_days)`` returns the text with typed tags; ``KnownValues.build`` prepares one
patient's known identifiers; ``VERSION`` names the scrubber's behaviour. Nothing here does I/O or logs.
"""

from deid.kinds import CLASSES, KINDS
from deid.known import KnownValues
from deid.scrubber import VERSION, detect, scrub, warm_up
from deid.text import Span

__all__ = ["CLASSES", "KINDS", "VERSION", "KnownValues", "Span", "detect", "scrub", "warm_up"]

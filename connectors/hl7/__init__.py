"""Pure HL7 v2 layer: tokenizer (parse), file splitting (split), MLLP framing (framing), ACKs (ack).

Light imports only (orjson); hl7apy is never imported here or on the hot path.
"""

from connectors.hl7.ack import ack_code, ack_mode, build_ack, wants_application_ack, wants_commit_ack
from connectors.hl7.framing import Frame, MllpDecoder, Oversize, frame
from connectors.hl7.parse import Delimiters, Hl7Message, Hl7ParseError, parse_message
from connectors.hl7.split import Piece, split_messages

__all__ = [
    "Delimiters", "Frame", "Hl7Message", "Hl7ParseError", "MllpDecoder", "Oversize", "Piece", "ack_code",
    "ack_mode", "build_ack", "frame", "parse_message", "split_messages", "wants_application_ack",
    "wants_commit_ack",
]

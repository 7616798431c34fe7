"""`--validate strict`: the slow, complete check of a message against hl7apy's HL7 reference structures
(message structure, segment order and cardinality, data types, lengths) for versions 2.3–2.8.

Used only on request: hl7apy builds a tree per message (about 45 ORU^R01 per second here). Its exception
texts can quote field values, so only the exception kind and element names become the reason.
"""

from __future__ import annotations

from connectors.hl7.parse import Hl7Message, Hl7ParseError

STRICT_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")


def _element_name(element: object) -> str:
    name = getattr(element, "name", None)
    return str(name) if isinstance(name, str) and name.replace("_", "").isalnum() else ""


def strict_error(msg: Hl7Message) -> Hl7ParseError | None:
    """None when hl7apy accepts the message under strict validation, else an error naming element and rule."""
    from hl7apy import exceptions as hx
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message

    if msg.version not in STRICT_VERSIONS:
        return Hl7ParseError(203, "strict.version", "MSH-12")
    text = msg.raw.decode(msg.charset, errors="strict").replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    try:
        tree = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        tree.validate()
    except hx.ChildNotFound as exc:
        return Hl7ParseError(100, "strict.child_not_found", _safe(getattr(exc, "name", "")))
    except hx.ChildNotValid as exc:
        return Hl7ParseError(100, "strict.child_not_valid", _element_name(getattr(exc, "child", None)) or "message")
    except hx.MaxChildLimitReached as exc:
        return Hl7ParseError(100, "strict.max_children", _element_name(getattr(exc, "child", None)) or "message")
    except hx.MaxLengthReached:
        return Hl7ParseError(102, "strict.max_length", "message")
    except (hx.InvalidDataType, hx.InvalidDateFormat, hx.InvalidDateOffset, hx.InvalidMicrosecondsPrecision):
        return Hl7ParseError(102, "strict.data_type", "message")
    except hx.UnsupportedVersion:
        return Hl7ParseError(203, "strict.version", "MSH-12")
    except hx.ValidationError:
        return Hl7ParseError(100, "strict.structure", "message")
    except (hx.HL7apyException, ValueError, UnicodeError):
        return Hl7ParseError(207, "strict.unparsable", "message")
    return None


def _safe(name: str) -> str:
    return name if name.replace("_", "").isalnum() and len(name) <= 12 else "message"

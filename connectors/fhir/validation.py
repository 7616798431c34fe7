"""Full structural validation (strict mode) against fhir.resources' R4B models, imported on first use.

fhir.resources 8.x has no R4 (4.0.1) package: its top level is R5 and ``fhir.resources.R4B`` holds
4.3.0, which is R4 plus a few mostly non-clinical changes. R4B is the closest model, so strict mode
validates against it; R4-only resource types (MedicinalProduct*, Substance* specifications, the
evidence syntheses) have no R4B model and are rejected as ``fhir.validation.unavailable``.

pydantic errors carry the input by default. Messages here are built from ``loc`` and ``type`` only.
"""

from __future__ import annotations

from typing import Any

from connectors.fhir.r4 import ELEMENT_NAME_RE

Issue = tuple[str, str]

# pydantic / fhir_core error types mapped to a problem in words (the raw type is kept in brackets).
_PROBLEMS = {
    "extra_forbidden": "unknown element",
    "missing": "required element missing",
    "model_field_validation.missing": "required element missing",
    "string_pattern_mismatch": "invalid format",
    "fhir-validation-wrong-resource-type": "wrong resourceType",
}
_LOC_RENAMES = {"resource_type": "resourceType"}
_LOC_SKIPS = frozenset({"root"})


def model_class(rtype: str) -> Any | None:
    """The R4B model for ``rtype``, or None when R4B has none."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(rtype)
    except ValueError:
        return None


def strict_issues(res: dict[str, Any], rtype: str) -> list[Issue] | None:
    """Validate ``res`` against the R4B model; return issues ([] when valid), None when no model exists."""
    import pydantic

    cls = model_class(rtype)
    if cls is None:
        return None
    try:
        cls.model_validate(res)
    except pydantic.ValidationError as err:
        issues = [_issue(e["loc"], e["type"]) for e in err.errors(include_url=False, include_input=False)]
        return issues or [("", "invalid resource")]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
        # Internal validator failures: name the exception class only, its text may quote the input.
        return [("", f"validation failed ({type(err).__name__})")]
    return []


def _issue(loc: tuple[int | str, ...], err_type: str) -> Issue:
    return _loc_path(loc), f"{_problem(err_type)} [{err_type}]"


def _problem(err_type: str) -> str:
    if err_type in _PROBLEMS:
        return _PROBLEMS[err_type]
    if err_type.endswith(("_type", "_parsing")) or err_type in {"json_invalid", "model_validation_format"}:
        return "invalid type"
    return "invalid value"


def _loc_path(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic ``loc`` into an element path; keys that do not look like element names are hidden."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        if part in _LOC_SKIPS:
            continue
        name = _LOC_RENAMES.get(part, part)
        if not ELEMENT_NAME_RE.fullmatch(name) and name != "resourceType":
            if any(c in name for c in "[(-"):
                continue  # a pydantic validator step such as "function-after[...]", not an element
            name = "<unnamed>"
        path += f".{name}" if path else name
    return path

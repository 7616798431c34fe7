"""Hot-path checks: the shape of the few elements wardflow extracts, in plain Python (microseconds).

Checked on every resource, in both modes: ``id`` and ``meta`` (version, last update), ``subject`` /
``patient`` references, ``code`` of clinical resources, ``effective[x]`` and Observation ``value[x]``
(also in components). Full R4 structure is left to strict mode (fhir.resources), which is 3-10x slower.

Each issue is ``(path, problem)``: the element path below the resource (no resource type) and a problem
in words. Neither ever holds a value from the input.
"""

from __future__ import annotations

from typing import Any

from connectors.fhir.r4 import (
    CODE_IS_CODEABLE_CONCEPT,
    DATE_TIME_RE,
    EFFECTIVE_KINDS,
    ID_RE,
    OBSERVATION_VALUE_KINDS,
    SUBJECT_IS_LIST,
)

Issue = tuple[str, str]
INVALID_TYPE = "invalid type"
INVALID_FORMAT = "invalid format"


def hot_path_issues(res: dict[str, Any], rtype: str) -> tuple[list[Issue], list[Issue]]:
    """Return (errors, warnings) for the elements wardflow uses. Errors block landing in any mode."""
    errors: list[Issue] = []
    warnings: list[Issue] = []
    _check_id_and_meta(res, errors, warnings)
    for key in ("subject", "patient"):
        if key in res:
            many = key == "subject" and rtype in SUBJECT_IS_LIST
            _check_reference_or_list(res[key], key, many, errors)
    if rtype in CODE_IS_CODEABLE_CONCEPT and "code" in res:
        _check_codeable_concept(res["code"], "code", errors)
    _check_choice(res, EFFECTIVE_KINDS, "effective", "", errors)
    if rtype == "Observation":
        _check_observation(res, errors, warnings)
    return errors, warnings


def _check_id_and_meta(res: dict[str, Any], errors: list[Issue], warnings: list[Issue]) -> None:
    rid = res.get("id")
    if rid is not None:
        if not isinstance(rid, str):
            errors.append(("id", INVALID_TYPE))
        elif not ID_RE.fullmatch(rid):
            warnings.append(("id", INVALID_FORMAT))
    meta = res.get("meta")
    if meta is None:
        return
    if not isinstance(meta, dict):
        errors.append(("meta", INVALID_TYPE))
        return
    if not isinstance(meta.get("versionId", ""), str):
        errors.append(("meta.versionId", INVALID_TYPE))
    last = meta.get("lastUpdated")
    if last is not None:
        if not isinstance(last, str):
            errors.append(("meta.lastUpdated", INVALID_TYPE))
        elif not DATE_TIME_RE.fullmatch(last):
            warnings.append(("meta.lastUpdated", INVALID_FORMAT))


def _check_reference_or_list(value: Any, path: str, many: bool, errors: list[Issue]) -> None:
    if many and isinstance(value, list):
        for i, item in enumerate(value):
            _check_reference(item, f"{path}[{i}]", errors)
    else:
        _check_reference(value, path, errors)


def _check_reference(value: Any, path: str, errors: list[Issue]) -> None:
    if not isinstance(value, dict):
        errors.append((path, INVALID_TYPE))
        return
    for key in ("reference", "type", "display"):
        if key in value and not isinstance(value[key], str):
            errors.append((f"{path}.{key}", INVALID_TYPE))
    if "identifier" in value and not isinstance(value["identifier"], dict):
        errors.append((f"{path}.identifier", INVALID_TYPE))


def _check_codeable_concept(value: Any, path: str, errors: list[Issue]) -> None:
    if not isinstance(value, dict):
        errors.append((path, INVALID_TYPE))
        return
    if "text" in value and not isinstance(value["text"], str):
        errors.append((f"{path}.text", INVALID_TYPE))
    coding = value.get("coding")
    if coding is None:
        return
    if not isinstance(coding, list):
        errors.append((f"{path}.coding", INVALID_TYPE))
        return
    for i, item in enumerate(coding):
        item_path = f"{path}.coding[{i}]"
        if not isinstance(item, dict):
            errors.append((item_path, INVALID_TYPE))
            continue
        for key in ("system", "version", "code", "display"):
            if key in item and not isinstance(item[key], str):
                errors.append((f"{item_path}.{key}", INVALID_TYPE))


def _check_quantity(value: Any, path: str, errors: list[Issue]) -> None:
    if not isinstance(value, dict):
        errors.append((path, INVALID_TYPE))
        return
    if "value" in value and not _is_number(value["value"]):
        errors.append((f"{path}.value", INVALID_TYPE))
    for key in ("comparator", "unit", "system", "code"):
        if key in value and not isinstance(value[key], str):
            errors.append((f"{path}.{key}", INVALID_TYPE))


def _check_date_time(value: Any, path: str, errors: list[Issue]) -> None:
    if not isinstance(value, str):
        errors.append((path, INVALID_TYPE))
    elif not DATE_TIME_RE.fullmatch(value):
        errors.append((path, INVALID_FORMAT))


def _check_choice(
    obj: dict[str, Any],
    kinds: dict[str, str],
    stem: str,
    prefix: str,
    errors: list[Issue],
    warnings: list[Issue] | None = None,
) -> None:
    """Check a choice element ``stem[x]``: at most one variant, each of the right JSON shape.

    Known variants are looked up (a scan of all keys costs more than the rest of the checks); with
    ``warnings`` given and no known variant present, other ``stem*`` keys (R5 choices) are warned about.
    """
    present = [key for key in kinds if key in obj]
    for key in present:
        _check_kind(obj[key], kinds[key], key, prefix + key, errors)
    if len(present) > 1:
        errors.append((prefix + stem + "[x]", "more than one choice given"))
    if not present and warnings is not None:
        for key in obj:
            if key.startswith(stem) and key != stem:
                warnings.append((prefix + key, f"not an R4 choice of {stem}[x]"))


def _check_kind(value: Any, kind: str, key: str, path: str, errors: list[Issue]) -> None:
    if kind == "dateTime":
        _check_date_time(value, path, errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append((path, INVALID_TYPE))
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append((path, INVALID_TYPE))
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append((path, INVALID_TYPE))
    elif key.endswith("Quantity"):
        _check_quantity(value, path, errors)
    elif key.endswith("CodeableConcept"):
        _check_codeable_concept(value, path, errors)
    elif key.endswith("Period"):
        _check_period(value, path, errors)
    elif key.endswith("Range") or key.endswith("Ratio"):
        _check_pair(
            value, path, ("low", "high") if key.endswith("Range") else ("numerator", "denominator"), errors
        )
    elif key.endswith("SampledData"):
        _check_sampled_data(value, path, errors)
    elif not isinstance(value, dict):
        errors.append((path, INVALID_TYPE))


def _check_period(value: Any, path: str, errors: list[Issue]) -> None:
    if not isinstance(value, dict):
        errors.append((path, INVALID_TYPE))
        return
    for key in ("start", "end"):
        if key in value:
            _check_date_time(value[key], f"{path}.{key}", errors)


def _check_pair(value: Any, path: str, keys: tuple[str, str], errors: list[Issue]) -> None:
    if not isinstance(value, dict):
        errors.append((path, INVALID_TYPE))
        return
    for key in keys:
        if key in value:
            _check_quantity(value[key], f"{path}.{key}", errors)


def _check_sampled_data(value: Any, path: str, errors: list[Issue]) -> None:
    if not isinstance(value, dict):
        errors.append((path, INVALID_TYPE))
        return
    if "origin" in value:
        _check_quantity(value["origin"], f"{path}.origin", errors)
    for key, ok in (
        ("period", _is_number),
        ("factor", _is_number),
        ("data", _is_str),
        ("dimensions", _is_int),
    ):
        if key in value and not ok(value[key]):
            errors.append((f"{path}.{key}", INVALID_TYPE))


def _check_observation(res: dict[str, Any], errors: list[Issue], warnings: list[Issue]) -> None:
    for key in ("status", "code"):
        if key not in res:
            warnings.append((key, "required element missing"))
    _check_choice(res, OBSERVATION_VALUE_KINDS, "value", "", errors, warnings)
    components = res.get("component")
    if components is None:
        return
    if not isinstance(components, list):
        errors.append(("component", INVALID_TYPE))
        return
    for i, comp in enumerate(components):
        prefix = f"component[{i}]"
        if not isinstance(comp, dict):
            errors.append((prefix, INVALID_TYPE))
            continue
        if "code" in comp:
            _check_codeable_concept(comp["code"], prefix + ".code", errors)
        _check_choice(comp, OBSERVATION_VALUE_KINDS, "value", prefix + ".", errors, warnings)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)

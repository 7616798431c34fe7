"""One parsed resource (a JSON object) → one FhirResource or FhirReject, after the checks of its mode.

Modes:
- ``lenient``: JSON object, known R4 resourceType, and the hot-path checks (``checks.py``) on the elements
  wardflow extracts. Anything else R4 might object to is landed, with warnings where the hot path saw it.
- ``strict``: the same, then full validation against fhir.resources R4B (``validation.py``); any error
  rejects, and so does a resource type that R4B cannot validate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.fhir.checks import hot_path_issues
from connectors.fhir.r4 import R4_RESOURCE_TYPES
from connectors.fhir.records import FhirReject, FhirResource

Record = FhirResource | FhirReject
Issue = tuple[str, str]
MODES = ("lenient", "strict")
_MAX_ISSUES_SHOWN = 5
# A NUL character in orjson output (``\u0000`` after an even run of backslashes): PostgreSQL jsonb cannot hold it,
# so a landed resource with one could never be read by staging.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True, slots=True)
class Where:
    """Where a resource sits in its source: an NDJSON line, and/or a path inside a bundle."""

    line: int | None = None
    in_bundle: str | None = None  # e.g. "Bundle.entry[3].resource"

    def path(self, rtype: str | None = None, rel: str = "") -> str:
        """A field path: "$", "line 17", "Observation.status", "Bundle.entry[3].resource.status", ..."""
        if self.in_bundle is not None:
            core = self.in_bundle + (f".{rel}" if rel else "")
        elif rtype is not None:
            core = rtype + (f".{rel}" if rel else "")
        else:
            core = "$"
        if self.line is None:
            return core
        return f"line {self.line}" if core == "$" else f"line {self.line}: {core}"


@dataclass(frozen=True, slots=True)
class Context:
    """What the reader knows about a resource before looking at it."""

    validate: str = "lenient"
    where: Where = Where()
    position: int = 0
    bundle_id: str | None = None
    bundle_type: str | None = None
    full_url: str | None = None
    warnings: tuple[str, ...] = ()
    # Warnings found while converting the input (XML), per resource object: id(obj) → warnings.
    warnings_by_id: dict[int, tuple[str, ...]] | None = None

    def warnings_for(self, obj: object) -> tuple[str, ...]:
        """Warnings inherited from the context plus those recorded for ``obj`` during conversion."""
        if self.warnings_by_id is None:
            return self.warnings
        return self.warnings + self.warnings_by_id.get(id(obj), ())


def reject(rule: str, path: str, problem: str, data: bytes, position: int) -> FhirReject:
    """A reject whose message is "<path>: <problem> (rule <rule>)"; callers pass no input values."""
    return FhirReject(
        rule=rule, field_path=path, message=f"{path}: {problem} (rule {rule})", data=data, position=position
    )


def resource_record(res: dict[str, Any], raw: bytes | None, ctx: Context) -> Record:
    """Check one resource in the mode of ``ctx`` and build its record. ``raw`` is its source bytes if known."""
    rtype = res.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        return _reject_resource(
            res, raw, ctx, "fhir.resourceType.missing", "resourceType missing or not a string"
        )
    if rtype not in R4_RESOURCE_TYPES:
        return _reject_resource(
            res, raw, ctx, "fhir.resourceType.unsupported", "resourceType is not an R4 resource type"
        )
    errors, warnings = hot_path_issues(res, rtype)
    if errors:
        return _reject_issues(res, raw, ctx, rtype, errors)
    if ctx.validate == "strict":
        from connectors.fhir.validation import strict_issues

        issues = strict_issues(res, rtype)
        if issues is None:
            problem = "no R4B model to validate this resource type against in strict mode"
            return _reject_resource(res, raw, ctx, "fhir.validation.unavailable", problem)
        if issues:
            return _reject_issues(res, raw, ctx, rtype, issues)
    try:
        content = orjson.dumps(res)
    except TypeError:  # e.g. an integer beyond 64 bits from XML; the error text may quote it
        return _reject_resource(res, raw, ctx, "fhir.validation", "content cannot be serialized as JSON")
    if b"\\u0000" in content and _NUL_ESCAPE.search(content):
        problem = f"a string of this {rtype} holds a NUL character, which the warehouse cannot store"
        return reject("fhir.nul_character", ctx.where.path(rtype), problem, as_bytes(res, raw), ctx.position)
    meta = res.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    return FhirResource(
        resource_type=rtype,
        resource_id=_str_or_none(res.get("id")),
        full_url=ctx.full_url,
        version_id=_str_or_none(meta.get("versionId")),
        last_updated=_str_or_none(meta.get("lastUpdated")),
        content=content,
        bundle_id=ctx.bundle_id,
        bundle_type=ctx.bundle_type,
        position=ctx.position,
        warnings=ctx.warnings_for(res) + tuple(_describe(rtype, warnings)),
    )


def describe_issues(rtype: str, issues: Iterable[Issue]) -> str:
    """Issues as "Observation.status: required element missing; ...": the first few, then a count."""
    items = list(_describe(rtype, issues))
    more = len(items) - _MAX_ISSUES_SHOWN
    return "; ".join(items[:_MAX_ISSUES_SHOWN]) + (f"; and {more} more" if more > 0 else "")


def _describe(rtype: str, issues: Iterable[Issue]) -> Iterable[str]:
    return (f"{rtype}.{path}: {problem}" if path else f"{rtype}: {problem}" for path, problem in issues)


def _reject_issues(
    res: dict[str, Any], raw: bytes | None, ctx: Context, rtype: str, issues: list[Issue]
) -> FhirReject:
    path = ctx.where.path(rtype, issues[0][0])
    message = f"{describe_issues(rtype, issues)} (rule fhir.validation)"
    return FhirReject(
        rule="fhir.validation",
        field_path=path,
        message=message,
        data=as_bytes(res, raw),
        position=ctx.position,
    )


def _reject_resource(
    res: dict[str, Any], raw: bytes | None, ctx: Context, rule: str, problem: str
) -> FhirReject:
    return reject(rule, ctx.where.path(), problem, as_bytes(res, raw), ctx.position)


def as_bytes(res: Any, raw: bytes | None) -> bytes:
    """The raw source bytes if known, else the value re-serialized (for a reject's ``data``)."""
    if raw is not None:
        return raw
    try:
        return orjson.dumps(res)
    except TypeError:
        return repr(res).encode("utf-8", "replace")


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None

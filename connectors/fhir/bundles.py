"""A parsed JSON object → records; a Bundle of any type is unpacked into its entries' resources.

The Bundle itself is not landed: each entry resource carries the bundle's id (``Bundle.id``, else a
generated key), its type and the entry's ``fullUrl``. A Bundle inside an entry (a searchset inside a
batch-response, say) is unpacked in turn and its entries carry the inner bundle's id and type.
Entries without a resource (a DELETE in a transaction, a bare batch-response status) hold nothing to
land and are skipped; entries that are not objects or whose resource lacks the ``resource`` wrapper
are rejected.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from connectors.fhir.emit import Context, Record, Where, as_bytes, reject, resource_record
from connectors.fhir.r4 import BUNDLE_ENTRY_ELEMENTS, R4_BUNDLE_TYPES

log = logging.getLogger(__name__)
MAX_BUNDLE_DEPTH = 8


def emit_object(obj: dict[str, Any], raw: bytes | None, ctx: Context, depth: int = 0) -> Iterator[Record]:
    """Records for one JSON object: its entries if it is a Bundle, else the resource itself."""
    if obj.get("resourceType") == "Bundle":
        yield from _unpack(obj, raw, ctx, depth)
    else:
        yield resource_record(obj, raw, ctx)


def _unpack(bundle: dict[str, Any], raw: bytes | None, ctx: Context, depth: int) -> Iterator[Record]:
    where = ctx.where
    if depth >= MAX_BUNDLE_DEPTH:
        problem = f"bundles nested more than {MAX_BUNDLE_DEPTH} deep"
        yield reject("fhir.bundle", where.path("Bundle"), problem, as_bytes(bundle, raw), ctx.position)
        return
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        yield reject(
            "fhir.bundle", where.path("Bundle", "entry"), "not an array", as_bytes(bundle, raw), ctx.position
        )
        return
    btype = bundle.get("type")
    warnings = list(ctx.warnings_for(bundle))
    if btype not in R4_BUNDLE_TYPES:
        problem = "invalid type" if btype is not None else "required element missing"
        if ctx.validate == "strict":
            yield reject(
                "fhir.validation", where.path("Bundle", "type"), problem, as_bytes(bundle, raw), ctx.position
            )
            return
        warnings.append(f"Bundle.type: {problem}")
    bundle_ctx = replace(
        ctx,
        bundle_id=_bundle_key(bundle, raw, ctx),
        bundle_type=btype if isinstance(btype, str) else None,
        warnings=tuple(warnings),
    )
    skipped = 0
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and "resource" not in entry and entry.keys() <= BUNDLE_ENTRY_ELEMENTS:
            skipped += 1
            continue
        yield from _entry(entry, i, bundle_ctx, depth)
    if skipped:
        log.debug("bundle entries without a resource skipped: %d of %d", skipped, len(entries))


def _entry(entry: Any, i: int, ctx: Context, depth: int) -> Iterator[Record]:
    base = ctx.where.in_bundle or "Bundle"
    entry_path = Where(ctx.where.line, f"{base}.entry[{i}]").path()
    if not isinstance(entry, dict):
        yield reject("fhir.bundle.entry", entry_path, "entry is not an object", as_bytes(entry, None), i)
        return
    if "resource" not in entry:
        problem = "elements not allowed in an entry (resource without its 'resource' wrapper?)"
        yield reject("fhir.bundle.entry", entry_path, problem, as_bytes(entry, None), i)
        return
    warnings = ctx.warnings
    if entry.keys() - BUNDLE_ENTRY_ELEMENTS:
        if ctx.validate == "strict":
            yield reject(
                "fhir.bundle.entry", entry_path, "unknown element in entry", as_bytes(entry, None), i
            )
            return
        warnings += (f"Bundle.entry[{i}]: unknown element in entry",)
    resource = entry["resource"]
    child = replace(
        ctx,
        where=Where(ctx.where.line, f"{base}.entry[{i}].resource"),
        position=i,
        full_url=entry["fullUrl"] if isinstance(entry.get("fullUrl"), str) else None,
        warnings=warnings,
    )
    if not isinstance(resource, dict):
        yield reject(
            "fhir.bundle.entry", child.where.path(), "resource is not an object", as_bytes(resource, None), i
        )
        return
    yield from emit_object(resource, None, child, depth + 1)


def _bundle_key(bundle: dict[str, Any], raw: bytes | None, ctx: Context) -> str:
    """Bundle.id, else a key derived from position: the enclosing bundle's key and entry, or a content hash."""
    bid = bundle.get("id")
    if isinstance(bid, str) and bid:
        return bid
    if ctx.bundle_id is not None:
        return f"{ctx.bundle_id}/entry[{ctx.position}]"
    digest = hashlib.sha256(as_bytes(bundle, raw)).hexdigest()[:16]
    return f"sha256:{digest}" if ctx.where.line is None else f"sha256:{digest}:line{ctx.where.line}"

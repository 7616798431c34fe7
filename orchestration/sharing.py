"""What a data-sharing agreement allows, as pure functions: is it in force, which columns leave and how each is
transformed under the agreement's de-identification profile.

Agreements are dbt exposures (dbt_project/models/sharing/), profiles are ``vars.privacy_policy.export_profiles``,
and column declarations come from the privacy catalog: nothing here restates a rule. Patient and other
pseudonymous keys are re-keyed per agreement (HMAC-SHA256 with a key derived by HKDF from the master key,
``info = wardflow/share/<agreement>``), so two agreements' extracts share no key and cannot be joined.
Reasons name agreements, models, columns and dates of the agreement, never a data value.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connectors.crypto import KeyRing, derive
from orchestration.catalog import Agreement, Column, policy

RELEASE_LAYERS = ("analytics", "aggregates")  # the layers built for readers outside the pipeline


class Refused(Exception):
    """An export the agreement does not allow; the message is the one-line reason."""


def in_force_problem(agreement: Agreement | None, name: str, today: date) -> str:
    """'' when the agreement allows an export today, else why not."""
    if agreement is None:
        return f"no data-sharing agreement named {name!r} (dbt exposures with meta.agreement)"
    if not agreement.approver or not agreement.approved_on:
        return f"agreement {name} is not approved (no approver and approval date)"
    try:
        valid_from, valid_until = date.fromisoformat(agreement.valid_from), date.fromisoformat(agreement.valid_until)
        approved = date.fromisoformat(agreement.approved_on)
    except ValueError:
        return f"agreement {name}: approved_on, valid_from and valid_until must be dates (YYYY-MM-DD)"
    if approved > today:
        return f"agreement {name} is approved only from {approved.isoformat()}"
    if today < valid_from:
        return f"agreement {name} is not yet valid (from {valid_from.isoformat()})"
    if today > valid_until:
        return f"agreement {name} expired on {valid_until.isoformat()}"
    if agreement.profile not in policy().get("export_profiles", {}):
        return f"agreement {name} names an unknown de-identification profile {agreement.profile!r}"
    if not agreement.models:
        return f"agreement {name} allows no model"
    return ""


@dataclass(frozen=True)
class Planned:
    """One exported column: its declaration and the transform applied (keep, rekey, year, age, postal3)."""

    column: Column
    transform: str


def _is_free_text(column: Column) -> bool:
    return "scrubbed_text" in str(column.extra.get("from", "")) or column.treatment == "redact_text"


def profile_transform(column: Column, profile: Mapping[str, Any]) -> str:
    """What `profile` does with one column: a transform name, or 'drop'."""
    if column.identifier == "direct" or column.hipaa in profile.get("drop_hipaa", ()):
        return "drop"
    if profile.get("drop_free_text") and _is_free_text(column):
        return "drop"
    if column.name in profile.get("postal_code_columns", ()):
        return "postal3"
    if column.hipaa == "geographic" and "geographic_keep" in profile and column.name not in profile["geographic_keep"]:
        return "drop"
    if column.treatment == "pseudonymize":
        return "rekey"
    if profile.get("dates") == "year" and (column.treatment == "date_shift" or column.hipaa == "dates"
                                           or column.data_type.lower() in ("date", "timestamptz", "timestamp")):
        return "year"
    if "max_age" in profile and column.name in ("age", "age_years"):
        return "age"
    return "keep"


def plan(agreement: Agreement, catalog_of, profile: Mapping[str, Any]) -> tuple[dict[str, list[Planned]], list[str]]:
    """Per allowed model, the columns that leave and their transforms; and 'model.column' withheld by the profile.
    `catalog_of(model)` returns the model's declared columns. Refuses columns the model does not declare."""
    out: dict[str, list[Planned]] = {}
    withheld: list[str] = []
    for model, names in agreement.models.items():
        declared = {c.name: c for c in catalog_of(model) if c.materialization != "source"}
        if not declared:
            raise Refused(f"agreement {agreement.name} names model {model}, which has no declared columns")
        if {c.layer for c in declared.values()} - set(RELEASE_LAYERS):
            # fail closed: only what is already de-identified for release leaves, whatever an agreement lists
            raise Refused(f"agreement {agreement.name}: {model} is not in a release layer ({', '.join(RELEASE_LAYERS)})")
        unknown = [n for n in names if n not in declared]
        if unknown:
            raise Refused(f"agreement {agreement.name}: {model} has no column {', '.join(unknown)}")
        out[model] = []
        for name in names:
            transform = profile_transform(declared[name], profile)
            if transform == "drop":
                withheld.append(f"{model}.{name}")
            else:
                out[model].append(Planned(declared[name], transform))
    return out, withheld


def agreement_key(ring: KeyRing, agreement: str) -> bytes:
    """The agreement's re-keying key: stable across key rotations (pseudonym version), one per agreement."""
    return derive(ring.masters[ring.pseudonym_version], f"share/{agreement}")


def rekey(key: bytes, value: Any) -> str | None:
    return None if value is None else hmac.digest(key, str(value).encode(), "sha256").hex()[:32]


def transform_value(transform: str, value: Any, profile: Mapping[str, Any], key: bytes) -> Any:
    """One value through its column's transform (postal3 before sparse-area suppression, see suppress_sparse)."""
    if value is None or transform == "keep":
        return value
    if transform == "rekey":
        return rekey(key, value)
    if transform == "year":
        return value.year if isinstance(value, date | datetime) else str(value)[:4]
    if transform == "age":
        return f"{int(profile['max_age']) + 1}+" if float(value) > int(profile["max_age"]) else value
    if transform == "postal3":
        digits = "".join(ch for ch in str(value) if ch.isdigit())[:3]
        return digits if len(digits) == 3 else None
    raise ValueError(f"unknown transform {transform}")


def suppress_sparse(rows: list[list[Any]], columns: Sequence[Planned], profile: Mapping[str, Any]) -> int:
    """Postal areas that are sparse (listed) or rare in this extract become '000' (HIPAA); returns how many."""
    sparse = set(profile.get("sparse_postal_areas", ()))
    floor = int(profile.get("min_rows_per_postal_area", 0))
    changed = 0
    for index, planned in enumerate(columns):
        if planned.transform != "postal3":
            continue
        counts = Counter(row[index] for row in rows)
        for row in rows:
            area = row[index]
            if area is not None and (area in sparse or counts[area] < floor):
                row[index] = "000"
                changed += 1
    return changed

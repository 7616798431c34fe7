"""The privacy catalog: one policy file read by dbt and Python, one typed catalog from the manifest, and a
snapshot so that every privacy change shows up as one reviewed diff.

Update the snapshot after a deliberate change with ``WARDFLOW_UPDATE_SNAPSHOT=1 pytest tests/unit/test_catalog.py``
and review the diff of tests/unit/privacy_catalog.snapshot.txt."""

import json
import os
from pathlib import Path

import pytest

from orchestration.catalog import Catalog, policy
from orchestration.project import prepare_manifest

SNAPSHOT = Path(__file__).with_name("privacy_catalog.snapshot.txt")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_manifest(json.loads(prepare_manifest().read_text()))


def test_catalog_snapshot(catalog):
    lines = "\n".join(catalog.snapshot()) + "\n"
    if os.environ.get("WARDFLOW_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(lines)
    assert lines == SNAPSHOT.read_text(), "privacy declarations changed: review, then update the snapshot"


def test_every_declaration_uses_the_policy_vocabulary(catalog):
    vocabulary = policy()["vocabulary"]
    for c in catalog.columns:
        assert c.identifier in vocabulary["identifier"] and c.treatment in vocabulary["treatment"], c
        assert c.category in vocabulary["category"] and c.level in vocabulary["level"], c


def test_no_direct_column_in_a_release_layer(catalog):
    release = [layer for layer, rule in policy()["direct_identifiers"].items() if not rule["allowed"]]
    assert set(release) == {"analytics", "aggregates"}
    assert [c for c in catalog.columns if c.layer in release and c.identifier == "direct"] == []


def test_every_release_quasi_identifier_is_declared_to_the_k_check(catalog):
    """Every analytics column declared quasi, other than shifted times and pseudonyms, is grouped on by the
    blocking k test, which reads the same catalog; this pins which columns those are."""
    grouped = sorted(f"{c.node}.{c.name}" for c in catalog.in_layer("analytics")
                     if c.identifier == "quasi" and c.treatment not in ("date_shift", "pseudonymize"))
    assert grouped == sorted([
        "alarms.device_type", "alarms.point_of_care", "alarms.ward_group", "vital_signs.device_type",
        "vital_signs.point_of_care", "vital_signs.ward_group", "vital_signs.generalization_level",
        "encounters.hospital_service", "encounters.patient_class", "encounters.point_of_care", "encounters.ward_group",
        "patients.age_band", "patients.city", "patients.generalization_level", "patients.province", "patients.sex",
        "vital_signs.age_band", "vital_signs.city", "vital_signs.loinc_code", "vital_signs.province",
        "vital_signs.sex", "vital_signs.vital_name"])

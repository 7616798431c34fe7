"""The dbt graph keeps each model's reads to what it needs: what decides the cost of a full build.

Staging and intermediate models are ephemeral: their SQL is inlined into every model that uses them, and a
staging model decrypts every landing row it selects (a MATERIALIZED decrypt CTE keeps outer filters out).
So the ephemeral models a table model inlines say which landing payloads its build decrypts. These tests pin
which models may pay for the big passes (docs/performance.md, Transform).
"""

import json

import pytest

from orchestration.project import prepare_manifest

OBSERVATIONS = "stg_fhir__observation_resources"
ALL_MESSAGES = "stg_hl7__messages"


@pytest.fixture(scope="module")
def inlined():
    """model name → names of the ephemeral models its compiled SQL inlines (stored tables end the walk)."""
    manifest = json.loads(prepare_manifest().read_text())
    nodes, parents = manifest["nodes"], manifest["parent_map"]

    def walk(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [f"model.wardflow.{name}"]
        while todo:
            for parent in parents.get(todo.pop(), []):
                node = nodes.get(parent)
                if node and node["resource_type"] == "model" and node["config"]["materialized"] == "ephemeral" \
                        and node["name"] not in seen:
                    seen.add(node["name"])
                    todo.append(parent)
        return seen

    return walk


@pytest.mark.parametrize("model", ["patient_identifiers", "vault_patients", "dim_patients", "fct_encounters",
                                   "vault_devices", "fct_alarms", "patient_known_values", "dim_devices"])
def test_models_about_patients_devices_or_visits_do_not_decrypt_observations(inlined, model):
    assert OBSERVATIONS not in inlined(model)


def test_only_readings_and_notes_decrypt_every_observation(inlined):
    assert OBSERVATIONS in inlined("fct_vital_signs")
    assert OBSERVATIONS in inlined("fct_notes")


def test_alarms_decrypt_only_alarm_messages(inlined):
    assert "stg_hl7__alarm_messages" in inlined("fct_alarms")
    assert ALL_MESSAGES not in inlined("fct_alarms")


@pytest.mark.parametrize("model", ["patient_identifiers", "vault_patients", "dim_patients", "fct_encounters",
                                   "patient_known_values"])
def test_models_about_patients_and_visits_build_only_the_segments_they_read(inlined, model):
    """Documents built in SQL for these models hold MSH and the person and visit segments, not every OBX."""
    assert "stg_hl7__person_segments" in inlined(model)
    assert ALL_MESSAGES not in inlined(model)

"""What a generation run wrote, as counts only: no identifier, name, date or value of any patient."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class GenerationSummary:
    """Counts of one run: people, devices, files, messages and resources by type, observations.

    ``observations`` counts numeric vital-sign values: HL7 OBX of type NM plus FHIR Observations.
    """

    patients: int
    devices: int
    wearables: int
    stays: int
    merges: int
    hl7_files: int
    hl7_messages: Mapping[str, int]
    fhir_files: int
    fhir_resources: Mapping[str, int]
    observations: int
    hl7_observations: int
    fhir_observations: int
    implausible_values: int
    notes: int

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (mappings copied into ordinary dicts)."""
        return {
            name: dict(value) if isinstance(value, Mapping) else value
            for name, value in self.__dict__.items()
        }


@dataclass
class Tally:
    """Mutable counters the writers add to while they stream files out."""

    hl7_files: int = 0
    fhir_files: int = 0
    hl7_messages: Counter[str] = field(default_factory=Counter)
    fhir_resources: Counter[str] = field(default_factory=Counter)
    hl7_observations: int = 0
    fhir_observations: int = 0
    implausible_values: int = 0
    notes: int = 0

    def freeze(
        self, *, patients: int, devices: int, wearables: int, stays: int, merges: int
    ) -> GenerationSummary:
        return GenerationSummary(
            patients=patients,
            devices=devices,
            wearables=wearables,
            stays=stays,
            merges=merges,
            hl7_files=self.hl7_files,
            hl7_messages=MappingProxyType(dict(sorted(self.hl7_messages.items()))),
            fhir_files=self.fhir_files,
            fhir_resources=MappingProxyType(dict(sorted(self.fhir_resources.items()))),
            observations=self.hl7_observations + self.fhir_observations,
            hl7_observations=self.hl7_observations,
            fhir_observations=self.fhir_observations,
            implausible_values=self.implausible_values,
            notes=self.notes,
        )

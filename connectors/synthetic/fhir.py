"""FHIR R4 resources (as plain dicts) for wearables: Patient, Device, Observation.

The Patient's resident ID uses the same OID as HL7 PID-3 (NNCHN repetition), so identity
resolution can link a wearable's data to the hospital's records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .devices import Wearable
from .people import Person
from .vitals import Metric

RIC_SYSTEM = "urn:oid:2.16.156.10011.1.3"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SERIAL_SYSTEM = "https://wardflow.example.org/fhir/NamingSystem/wearable-serial"
DEVICE_KIND_SYSTEM = "https://wardflow.example.org/fhir/CodeSystem/wearable-kind"
DEVICE_KINDS = {"watch": ("Smartwatch", "智能手表"), "ring": ("Smart ring", "智能戒指")}
STEPS = ("55423-8", "Number of steps in unspecified time Pedometer", "steps", "{steps}")
Resource = dict[str, Any]


def patient(person: Person, resource_id: str | None = None) -> Resource:
    """Patient with resident ID, name (text, family, given), contacts, sex, birth date, address."""
    telecom = [{"system": "phone", "value": person.mobile, "use": "mobile"}]
    if person.landline:
        telecom.append({"system": "phone", "value": person.landline, "use": "home"})
    if person.email:
        telecom.append({"system": "email", "value": person.email, "use": "home"})
    r = person.region
    resource: Resource = {"resourceType": "Patient"}
    if resource_id:
        resource["id"] = resource_id
    resource.update(
        {
            "identifier": [
                {
                    "use": "official",
                    "type": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                "code": "NI",
                                "display": "National unique individual identifier",
                            }
                        ],
                        "text": "居民身份证",
                    },
                    "system": RIC_SYSTEM,
                    "value": person.ric,
                }
            ],
            "name": [
                {"use": "official", "text": person.name, "family": person.family, "given": [person.given]}
            ],
            "telecom": telecom,
            "gender": "male" if person.sex == "M" else "female",
            "birthDate": person.birth_date.isoformat(),
            "address": [
                {
                    "use": "home",
                    "type": "physical",
                    "text": f"{r.province}{r.city if r.city != r.province else ''}{r.district}{person.street}",
                    "line": [person.street],
                    "city": r.city,
                    "district": r.district,
                    "state": r.province,
                    "postalCode": r.postal,
                    "country": "CN",
                }
            ],
        }
    )
    return resource


def device(wearable: Wearable, patient_ref: str, resource_id: str | None = None) -> Resource:
    """Device for a watch or ring: serial number, model, manufacturer, wearer."""
    display, text = DEVICE_KINDS[wearable.kind]
    resource: Resource = {"resourceType": "Device"}
    if resource_id:
        resource["id"] = resource_id
    resource.update(
        {
            "identifier": [{"system": SERIAL_SYSTEM, "value": wearable.serial}],
            "status": "active",
            "manufacturer": wearable.manufacturer,
            "serialNumber": wearable.serial,
            "deviceName": [{"name": wearable.model, "type": "model-name"}],
            "modelNumber": wearable.model,
            "type": {
                "coding": [{"system": DEVICE_KIND_SYSTEM, "code": wearable.kind, "display": display}],
                "text": text,
            },
            "patient": {"reference": patient_ref},
        }
    )
    return resource


def _code(metric: Metric | None) -> tuple[Resource, str, str, str]:
    """(code, category code, unit text, UCUM code); ``None`` means the step count."""
    if metric is None:
        code, display, unit, ucum = STEPS
        return (
            {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
            "activity",
            unit,
            ucum,
        )
    display = metric.loinc_display or metric.key
    return (
        {"coding": [{"system": LOINC, "code": metric.loinc, "display": display}], "text": display},
        "vital-signs",
        metric.ucum,
        metric.ucum,
    )


def observation(
    metric: Metric | None,
    value: float,
    flag: str,
    when: datetime,
    patient_ref: str,
    device_ref: str,
    note: str | None = None,
    resource_id: str | None = None,
) -> Resource:
    """One final Observation: LOINC code, UCUM quantity, +08:00 time, patient and device references."""
    code, category, unit, ucum = _code(metric)
    number: float | int = int(value) if metric is None or metric.decimals == 0 else value
    resource: Resource = {"resourceType": "Observation"}
    if resource_id:
        resource["id"] = resource_id
    resource.update(
        {
            "status": "final",
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
            "code": code,
            "subject": {"reference": patient_ref},
            "effectiveDateTime": when.isoformat(),
            "valueQuantity": {"value": number, "unit": unit, "system": UCUM, "code": ucum},
            "device": {"reference": device_ref},
        }
    )
    if flag != "N":
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": flag}]}]
    if note:
        resource["note"] = [{"text": note}]
    return resource

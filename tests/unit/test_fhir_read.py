"""connectors.fhir.read_fhir: FHIR JSON, Bundles, NDJSON and XML → resources to land or rejects (no database)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from connectors.fhir import FhirReject, FhirResource, looks_like_fhir, read_fhir

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "fhir"
MANIFEST = CORPUS.parent / "manifest.json"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.corpus("fhir")  # skipped where the corpus is missing, failed in CI (tests/conftest.py)

# A distinctive personal value planted in bad inputs: it must never reach a rule, path or message.
NAME = "Zebulon Quackenbush"


def read(data: bytes, **kwargs: str) -> tuple[list[FhirResource], list[FhirReject]]:
    records = list(read_fhir(data, **kwargs))
    assert all(isinstance(r, FhirResource | FhirReject) for r in records)
    return [r for r in records if isinstance(r, FhirResource)], [
        r for r in records if isinstance(r, FhirReject)
    ]


def read_file(path: Path, validate: str = "lenient") -> tuple[list[FhirResource], list[FhirReject]]:
    with path.open("rb") as stream:
        records = list(read_fhir(stream, name_hint=path.name, validate=validate))
    return [r for r in records if isinstance(r, FhirResource)], [
        r for r in records if isinstance(r, FhirReject)
    ]


def manifest_analysis() -> dict[str, dict]:
    entries = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {
        e["file"].removeprefix("fhir/"): e.get("analysis", {})
        for e in entries
        if e["file"].startswith("fhir/")
    }


def observation(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "resourceType": "Observation",
        "id": "hr-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-05-01T10:00:00Z",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }
    base.update(fields)
    return base


def assert_no_value(reject: FhirReject) -> None:
    for text in (reject.rule, reject.field_path, reject.message, repr(reject), str(reject)):
        for part in (NAME, *NAME.split()):
            assert part not in text


# --- the corpus ---------------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("validate", ["lenient", "strict"])
@pytest.mark.parametrize("path", CORPUS_FILES or [CORPUS], ids=lambda p: str(p.relative_to(CORPUS.parent)))
def test_every_corpus_file_yields_records_without_raising(path: Path, validate: str) -> None:
    resources, rejects = read_file(path, validate)
    assert resources or rejects
    for reject in rejects:
        assert reject.rule and reject.field_path and f"(rule {reject.rule})" in reject.message
    for resource in resources:
        assert orjson.loads(resource.content)["resourceType"] == resource.resource_type


@needs_corpus
def test_corpus_counts_match_the_manifest() -> None:
    analysis = manifest_analysis()
    checked = 0
    for name, facts in analysis.items():
        path = CORPUS / name
        if not path.is_file() or not (facts.get("r4_validation") == "ok" or facts.get("format") == "XML"):
            continue
        resources, rejects = read_file(path)
        expected = facts.get("ndjson_lines") or facts.get("entries") or 1
        assert (len(resources), len(rejects)) == (expected, 0), name
        if "resource_types" in facts:
            counts: dict[str, int] = {}
            for r in resources:
                counts[r.resource_type] = counts.get(r.resource_type, 0) + 1
            assert counts == facts["resource_types"], name
        checked += 1
    assert checked >= 70


@needs_corpus
def test_bulk_ndjson_lines_become_resources_positioned_by_line() -> None:
    path = CORPUS / "bulk_ndjson" / "bulk10_Encounter.000.ndjson"
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    resources, rejects = read_file(path)
    assert len(resources) == len(lines) == 1215 and not rejects
    assert [r.position for r in resources[:3]] == [1, 2, 3]
    assert {r.resource_type for r in resources} == {"Encounter"}
    assert all(r.bundle_id is None and r.resource_id for r in resources)


@needs_corpus
def test_bulk_export_log_lines_are_rejected_one_by_one() -> None:
    resources, rejects = read_file(CORPUS / "bulk_ndjson" / "bulk10_log.ndjson")
    assert not resources
    assert [(r.rule, r.field_path, r.position) for r in rejects] == [
        ("fhir.resourceType.missing", f"line {n}", n) for n in range(1, 5)
    ]


@needs_corpus
def test_bundle_entries_all_carry_the_bundle_id_type_and_full_url() -> None:
    path = CORPUS / "synthea" / "smartgsd_Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json"
    resources, rejects = read_file(path)
    assert len(resources) == 70 and not rejects
    bundle_ids = {r.bundle_id for r in resources}
    assert len(bundle_ids) == 1 and None not in bundle_ids  # Synthea bundles have no id: a generated key
    assert {r.bundle_type for r in resources} == {"transaction"}
    assert [r.position for r in resources] == list(range(70))
    assert all(r.full_url and r.full_url.startswith("urn:uuid:") for r in resources)
    # the same input gives the same generated key (idempotent re-ingest)
    assert {r.bundle_id for r in read_file(path)[0]} == bundle_ids


@needs_corpus
def test_malformed_batch_response_lands_good_entries_and_rejects_the_bare_one() -> None:
    resources, rejects = read_file(CORPUS / "msfhirconv_ObservationBundle.json")  # starts with a BOM
    assert [(r.resource_type, r.position, r.bundle_id, r.bundle_type) for r in resources] == [
        ("Patient", 0, "bundle-response", "batch-response"),
        ("Observation", 2, "bundle-response", "batch-response"),
    ]
    assert resources[0].version_id == "1" and resources[0].last_updated == "2018-11-12T03:35:20.715Z"
    [reject] = rejects
    assert (reject.rule, reject.field_path, reject.position) == ("fhir.bundle.entry", "Bundle.entry[1]", 1)
    assert orjson.loads(reject.data)["resourceType"] == "Encounter"  # the offending entry is kept


@needs_corpus
def test_json_without_resource_type_is_rejected_without_its_values() -> None:
    path = CORPUS / "msfhirconv_ExamplePatient.json"
    resources, [reject] = read_file(path)
    assert not resources
    assert (reject.rule, reject.field_path) == ("fhir.resourceType.missing", "$")
    assert reject.data == path.read_bytes()
    for value in ("Jerry", "Smith", "M0R1N2", "1234-5678"):
        assert value not in reject.message


@needs_corpus
def test_xml_resources_convert_to_the_same_json_as_the_published_json() -> None:
    xml_files = sorted((CORPUS / "pocd_xml").glob("*.xml"))
    assert len(xml_files) == 21
    for xml_file in xml_files:
        [resource] = read_file(xml_file)[0]
        expected = orjson.loads((CORPUS / "pocd_json" / f"{xml_file.stem}.json").read_bytes())
        # the published JSON was converted by a tool that rewrote one instant's "Z" as "+00:00"
        got = orjson.loads(resource.content.replace(b"T09:30:00Z", b"T09:30:00+00:00"))
        assert got == expected, xml_file.name
        assert resource.warnings == ()


# --- sniffing and forms -------------------------------------------------------------------------------


@needs_corpus
def test_looks_like_fhir_on_corpus_heads() -> None:
    analysis = manifest_analysis()
    for path in CORPUS_FILES:
        facts = analysis.get(str(path.relative_to(CORPUS)), {})
        is_fhir = bool(
            facts.get("resourceType") or facts.get("resource_types", {}).keys() - {"(bulk export log event)"}
        )
        assert looks_like_fhir(path.read_bytes()[:512]) == is_fhir, path.name
    hl7 = CORPUS.parent / "hl7v2"
    for path in sorted(hl7.glob("*"))[:10]:
        assert not looks_like_fhir(path.read_bytes()[:512])


def test_looks_like_fhir_on_small_inputs() -> None:
    assert looks_like_fhir(b'\xef\xbb\xbf  {"resourceType": "Patient"}')
    assert looks_like_fhir(b'{"resourceType":"Observation","id":"1"}\n{"resourceType":"Obs')
    assert looks_like_fhir(b'<?xml version="1.0"?>\n<Patient xmlns="http://hl7.org/fhir">')
    assert not looks_like_fhir(b'<Patient xmlns="http://example.org">')
    assert not looks_like_fhir(b'{"PatientId": 1}')
    assert not looks_like_fhir(b"MSH|^~\\&|APP|FAC")
    assert not looks_like_fhir(b"")


def test_single_line_json_without_name_is_a_document_not_ndjson() -> None:
    [resource] = read(orjson.dumps(observation()))[0]
    assert resource.position == 0 and resource.resource_id == "hr-1"
    [reject] = read(orjson.dumps(observation(valueQuantity={"value": "x"})))[1]
    assert reject.field_path == "Observation.valueQuantity.value"


def test_ndjson_is_detected_by_content_and_read_lazily() -> None:
    line = orjson.dumps(observation()) + b"\n"
    data = line * 5000
    stream = io.BytesIO(data)
    records = read_fhir(stream)
    first = next(records)
    assert isinstance(first, FhirResource) and first.position == 1
    assert stream.tell() < len(data) // 10  # only the head was read, not the whole file
    assert sum(1 for _ in records) == 4999


def test_ndjson_content_wins_over_a_json_name() -> None:
    data = orjson.dumps(observation(id="a")) + b"\n" + orjson.dumps(observation(id="b"))
    resources, rejects = read(data, name_hint="export.json")
    assert [(r.resource_id, r.position) for r in resources] == [("a", 1), ("b", 2)] and not rejects


def test_a_garbage_line_in_ndjson_rejects_that_line_only() -> None:
    lines = [
        orjson.dumps(observation(id="a")),
        b"",
        f"{{not json at all, {NAME}".encode(),
        b'["an", "array"]',
        orjson.dumps(observation(id="b")),
    ]
    resources, rejects = read(b"\r\n".join(lines), name_hint="obs.ndjson")
    assert [(r.resource_id, r.position) for r in resources] == [("a", 1), ("b", 5)]
    assert [(r.rule, r.field_path, r.position) for r in rejects] == [
        ("ndjson.line", "line 3", 3),
        ("ndjson.line", "line 4", 4),
    ]
    assert rejects[0].data == lines[2]
    for reject in rejects:
        assert_no_value(reject)


def test_empty_input() -> None:
    assert [(r.rule, r.field_path) for r in read(b"  \n")[1]] == [("input.empty", "$")]
    assert list(read_fhir(b"", name_hint="Patient.000.ndjson")) == []


def test_bad_arguments_raise_at_once() -> None:
    with pytest.raises(ValueError, match="validate"):
        read_fhir(b"{}", validate="paranoid")
    with pytest.raises(TypeError):
        read_fhir(io.StringIO("{}"))  # type: ignore[arg-type]


# --- rejects: rule and path -----------------------------------------------------------------------------


def test_broken_json_is_rejected_as_a_whole() -> None:
    data = b'{\n  "resourceType": "Patient",\n  "name": [{"family": "' + NAME.encode() + b'"}\n'
    [reject] = read(data, name_hint="patient.json")[1]
    assert (reject.rule, reject.field_path, reject.position) == ("json.syntax", "$", 0)
    assert reject.data == data
    assert_no_value(reject)


def test_json_that_is_not_an_object() -> None:
    [reject] = read(b'[{"resourceType": "Patient"}]')[1]
    assert (reject.rule, reject.field_path) == ("json.not_object", "$")


@pytest.mark.parametrize("rtype", ["Spaceship", "SubscriptionTopic", NAME])
def test_unknown_resource_type_is_rejected(rtype: str) -> None:
    [reject] = read(orjson.dumps({"resourceType": rtype, "id": "x"}))[1]
    assert (reject.rule, reject.field_path) == ("fhir.resourceType.unsupported", "$")
    assert_no_value(reject)


def test_unknown_resource_type_inside_a_bundle_names_the_entry() -> None:
    bundle = {
        "resourceType": "Bundle",
        "id": "b1",
        "type": "collection",
        "entry": [{"resource": observation()}, {"resource": {"resourceType": "Spaceship"}}, {"resource": {}}],
    }
    resources, rejects = read(orjson.dumps(bundle))
    assert [(r.bundle_id, r.position) for r in resources] == [("b1", 0)]
    assert [(r.rule, r.field_path, r.position) for r in rejects] == [
        ("fhir.resourceType.unsupported", "Bundle.entry[1].resource", 1),
        ("fhir.resourceType.missing", "Bundle.entry[2].resource", 2),
    ]


def test_hot_path_fields_of_wrong_shape_are_rejected_in_both_modes() -> None:
    cases = {
        "Observation.valueQuantity.value": observation(valueQuantity={"value": NAME, "unit": "/min"}),
        "Observation.subject": observation(subject=NAME),
        "Observation.subject.reference": observation(subject={"reference": 42}),
        "Observation.code": observation(code=NAME),
        "Observation.effectiveDateTime": observation(effectiveDateTime=NAME),
        "Observation.component[1].valueQuantity.value": observation(
            component=[
                {"code": {"text": "systolic"}, "valueQuantity": {"value": 120}},
                {"code": {"text": "diastolic"}, "valueQuantity": {"value": [NAME]}},
            ]
        ),
        "Observation.value[x]": observation(valueString=NAME),
        "Observation.id": observation(id=[NAME]),
    }
    for validate in ("lenient", "strict"):
        for path, resource in cases.items():
            resources, [reject] = read(orjson.dumps(resource), validate=validate)
            assert not resources
            assert (reject.rule, reject.field_path) == ("fhir.validation", path), (validate, path)
            assert reject.message.startswith(path + ": ") and reject.message.endswith(
                "(rule fhir.validation)"
            )
            assert_no_value(reject)


def test_wrong_type_outside_the_hot_path_lands_in_lenient_and_is_rejected_in_strict() -> None:
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": NAME}], "birthDate": 19700101}
    [landed] = read(orjson.dumps(patient))[0]
    assert landed.resource_type == "Patient"
    resources, [reject] = read(orjson.dumps(patient), validate="strict")
    assert not resources
    assert (reject.rule, reject.field_path) == ("fhir.validation", "Patient.birthDate")
    assert reject.message.startswith("Patient.birthDate: invalid")
    assert_no_value(reject)


def test_strict_names_unknown_elements_but_hides_keys_that_are_not_element_names() -> None:
    resource = observation(colour="red", **{NAME: "x"})
    [reject] = read(orjson.dumps(resource), validate="strict")[1]
    assert reject.rule == "fhir.validation"
    assert "Observation.colour: unknown element" in reject.message
    assert "Observation.<unnamed>: unknown element" in reject.message
    assert_no_value(reject)


def test_strict_rejects_inside_bundle_name_the_entry_path() -> None:
    bad = observation(valueQuantity={"value": 1, "unit": "/min", "comparator": "<<"}, status=7)
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": bad}]}
    [reject] = read(orjson.dumps(bundle), validate="strict")[1]
    assert reject.field_path.startswith("Bundle.entry[0].resource.")
    assert reject.position == 0


def test_lenient_lands_r5_shapes_that_strict_rejects() -> None:
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "in-progress",
        "class": [{"text": "inpatient"}],
    }
    assert len(read(orjson.dumps(encounter))[0]) == 1
    [reject] = read(orjson.dumps(encounter), validate="strict")[1]
    assert reject.field_path == "Encounter.class"


def test_r4_only_resource_types_cannot_be_strictly_validated() -> None:
    product = orjson.dumps({"resourceType": "MedicinalProduct", "id": "m1"})
    assert len(read(product)[0]) == 1
    [reject] = read(product, validate="strict")[1]
    assert reject.rule == "fhir.validation.unavailable"


def test_lenient_warnings_name_paths_only() -> None:
    resource = observation(valueAttachment={"title": NAME})
    resource.pop("status")
    del resource["valueQuantity"]
    [landed] = read(orjson.dumps(resource))[0]
    assert set(landed.warnings) == {
        "Observation.status: required element missing",
        "Observation.valueAttachment: not an R4 choice of value[x]",
    }
    assert NAME not in repr(landed) and "content" not in repr(landed)


# --- bundles --------------------------------------------------------------------------------------------


def test_nested_bundles_are_flattened_with_their_own_ids() -> None:
    search = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": observation(id="o1")}]}
    named = {
        "resourceType": "Bundle",
        "id": "inner",
        "type": "collection",
        "entry": [{"resource": observation()}],
    }
    outer = {
        "resourceType": "Bundle",
        "id": "outer",
        "type": "batch-response",
        "entry": [
            {"resource": search, "response": {"status": "200 OK"}},
            {"resource": named},
            {"response": {"status": "204 No Content"}},
            {"request": {"method": "DELETE", "url": "Patient/1"}},
        ],
    }
    resources, rejects = read(orjson.dumps(outer))
    assert not rejects
    assert [(r.bundle_id, r.bundle_type, r.position) for r in resources] == [
        ("outer/entry[0]", "searchset", 0),
        ("inner", "collection", 0),
    ]


def test_bundle_without_an_entry_array_is_rejected_whole() -> None:
    data = orjson.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": {"resource": observation()}}
    )
    [reject] = read(data)[1]
    assert (reject.rule, reject.field_path, reject.data) == ("fhir.bundle", "Bundle.entry", data)


def test_unknown_bundle_type_warns_in_lenient_and_rejects_in_strict() -> None:
    data = orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "subscription-notification",
            "entry": [{"resource": observation()}],
        }
    )
    [landed] = read(data)[0]
    assert "Bundle.type: invalid type" in landed.warnings
    [reject] = read(data, validate="strict")[1]
    assert (reject.rule, reject.field_path) == ("fhir.validation", "Bundle.type")


def test_a_bundle_on_an_ndjson_line() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation(code=NAME)}]}
    data = orjson.dumps(observation()) + b"\n" + orjson.dumps(bundle) + b"\n"
    resources, [reject] = read(data, name_hint="x.ndjson")
    assert [r.position for r in resources] == [1]
    assert (reject.field_path, reject.position) == ("line 2: Bundle.entry[0].resource.code", 0)
    assert_no_value(reject)


# --- XML ------------------------------------------------------------------------------------------------


def test_xml_bundle_with_narrative_extensions_and_repeats() -> None:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<Bundle xmlns="http://hl7.org/fhir">
  <id value="xb"/><type value="collection"/>
  <entry><fullUrl value="urn:uuid:p1"/><resource><Patient>
    <id value="p1"/>
    <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>{NAME}</p></div></text>
    <active value="true"/>
    <name><family value="Quackenbush"/><given value="Zebulon"/><given id="g2"><extension url="http://x/e"><valueString value="v"/></extension></given></name>
    <birthDate value="1970-01-01"/>
    <multipleBirthInteger value="2"/>
  </Patient></resource></entry>
  <entry><resource><Observation><status value="final"/><code><text value="hr"/></code>
    <valueQuantity><value value="72.50"/><unit value="/min"/></valueQuantity></Observation></resource></entry>
</Bundle>""".encode()
    resources, rejects = read(xml)
    assert not rejects
    patient, obs = (orjson.loads(r.content) for r in resources)
    assert [r.bundle_id for r in resources] == ["xb", "xb"]
    assert resources[0].full_url == "urn:uuid:p1"
    assert patient["active"] is True and patient["multipleBirthInteger"] == 2
    assert patient["text"]["div"] == f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{NAME}</p></div>'
    assert patient["name"] == [
        {
            "family": "Quackenbush",
            "given": ["Zebulon", None],
            "_given": [None, {"id": "g2", "extension": [{"url": "http://x/e", "valueString": "v"}]}],
        }
    ]
    assert obs["valueQuantity"] == {"value": 72.5, "unit": "/min"}


@pytest.mark.parametrize(
    ("xml", "rule"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY n "x">]><Patient xmlns="http://hl7.org/fhir"/>',
            "fhir.xml.dtd",
        ),
        (f'<Patient xmlns="http://hl7.org/fhir"><name value="{NAME}"></Patient>'.encode(), "fhir.xml.syntax"),
        (b'<Patient xmlns="http://example.org/not-fhir"/>', "fhir.xml.namespace"),
        (b'<Spaceship xmlns="http://hl7.org/fhir"/>', "fhir.resourceType.unsupported"),
        (
            b'<MedicinalProduct xmlns="http://hl7.org/fhir"><id value="m"/></MedicinalProduct>',
            "fhir.xml.unsupported",
        ),
        (
            b'<?xml version="1.0" encoding="ISO-8859-1"?><Patient xmlns="http://hl7.org/fhir"/>',
            "fhir.xml.encoding",
        ),
    ],
)
def test_xml_that_cannot_be_converted_is_rejected(xml: bytes, rule: str) -> None:
    resources, [reject] = read(xml)
    assert not resources
    assert (reject.rule, reject.field_path, reject.data) == (rule, "$", xml)
    assert_no_value(reject)


def test_xml_element_unknown_to_r4b_lands_with_a_warning_in_lenient_only() -> None:
    xml = b'<Patient xmlns="http://hl7.org/fhir"><id value="p"/><shoeSize value="44"/></Patient>'
    [landed] = read(xml)[0]
    assert landed.warnings == ("Patient.shoeSize: element not in the R4B definition, converted by shape",)
    [reject] = read(xml, validate="strict")[1]
    assert reject.field_path == "Patient.shoeSize"


# --- import cost ----------------------------------------------------------------------------------------


def test_package_import_does_not_import_fhir_resources() -> None:
    code = "import sys, connectors.fhir; print(any(m.startswith(('fhir.', 'fhir_core', 'pydantic')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

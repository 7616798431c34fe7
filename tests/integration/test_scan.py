"""`wardflow scan` on the built synthetic hospital: personal data is found where it is declared, the
protected layers are clean, and a planted leak in clinical fails the scan without the report quoting it."""

import json

import pytest

from connectors.privacy import detect
from orchestration.scan import Relation, ScanReport, json_leaves, scan, scan_relation
from orchestration.warehouse.database import connect

PHONE = "13912345678"
RIC = "110101199003077774"
HEX = "3f5a13812345678ab90c0d1e2f3a4b5c"
PLANTED = [PHONE, RIC, "张伟", "zhangwei90"]


def rows(report: ScanReport, **match) -> list:
    return [r for r in report.rows if all(getattr(r, k) == v for k, v in match.items())]


def assert_no_values(report: ScanReport) -> None:
    text = json.dumps(report.as_dict(), ensure_ascii=False)
    assert not any(value in text for value in PLANTED)
    assert detect(text, ["resident_id", "mobile_phone", "landline", "email", "insurance_number"]) == []


@pytest.fixture(scope="module")
def clean_report(built, settings) -> ScanReport:
    return scan(settings, sample_rows=50000, layers=("clinical", "analytics"))


@pytest.fixture(scope="module")
def planted_report(clean_report, settings):
    with connect(settings, "pipeline") as conn:
        conn.execute("create table clinical.scan_planted (id int, note text, ref text, doc jsonb)")
        conn.execute("""insert into clinical.scan_planted values
              (1, %(note)s, %(hex)s, %(doc)s), (2, '体温36.5℃，血压120/80', %(hex)s, '{}'),
              (3, null, null, null)""",
                     {"note": f"家属电话{PHONE}", "hex": HEX,
                      "doc": json.dumps({"contact": [{"text": f"患者张伟 身份证{RIC}"}], "mail": "zhangwei90@qq.com"})})
        conn.execute("create view clinical.scan_broken as select (1 / (id - id))::text as t from clinical.scan_planted")
        conn.commit()
    try:
        yield scan(settings, sample_rows=50000)
    finally:
        with connect(settings, "pipeline") as conn:
            conn.execute("drop view if exists clinical.scan_broken")
            conn.execute("drop table if exists clinical.scan_planted")
            conn.commit()


def test_built_pipeline_leaks_nothing_into_clinical_or_analytics(clean_report):
    assert not clean_report.failed, [r.as_dict() for r in clean_report.failures]


def test_scan_reports_scrubber_independent_findings_apart(clean_report):
    """The canary search (values the scan knows, not the scrubber's patterns) is its own section."""
    section = clean_report.as_dict()["scrubber_independent"]
    assert section == {"canaries_planted": True, "canary_findings": []}
    relations = {r.relation for r in clean_report.rows}
    assert {"clinical.dim_patients", "clinical.fct_vital_signs", "analytics.patients"} <= relations
    assert all(r.rows_sampled > 0 for r in rows(clean_report, relation="clinical.dim_patients"))
    assert not clean_report.errors


def test_planted_phone_in_clinical_fails_the_scan(planted_report):
    assert planted_report.failed
    note = rows(planted_report, relation="clinical.scan_planted", column="note", detector="mobile_phone")
    assert len(note) == 1 and note[0].hits == 1 and note[0].verdict == "undeclared"
    assert note[0].rows_sampled == 3 and note[0].values == 2 and note[0].hit_rate == 0.5
    assert rows(planted_report, relation="clinical.scan_planted", column="ref")[0].verdict == "clean"
    found = {(r.path, r.detector) for r in rows(planted_report, relation="clinical.scan_planted", column="doc")
             if r.hits}
    assert found == {("$.contact[*].text", "resident_id"), ("$.contact[*].text", "chinese_name"),
                     ("$.mail", "email")}
    assert {r.relation for r in planted_report.failures} == {"clinical.scan_planted"}
    assert {"layer": "clinical", "relation": "clinical.scan_broken", "error": "DivisionByZero 22012"} \
        in planted_report.errors  # unreadable relations in protected layers fail closed


def test_landing_and_staging_identifiers_are_found_and_declared(planted_report):
    pid5 = rows(planted_report, layer="landing", relation="landing.hl7_messages", column="doc", path="PID-5")
    assert ("chinese_name", "declared") in [(r.detector, r.verdict) for r in pid5]
    assert next(r for r in pid5 if r.detector == "chinese_name").hit_rate > 0.1  # other tests land non-Chinese corpus messages into the same database
    expected = {("PID-3", "resident_id"), ("PID-3", "mrn"), ("PID-13", "mobile_phone"), ("NK1-5", "mobile_phone"),
                ("PID-7", "date")}
    landed = {(r.path, r.detector) for r in rows(planted_report, relation="landing.hl7_messages") if r.hits}
    assert expected <= landed
    fhir = {(r.path, r.detector, r.verdict) for r in rows(planted_report, relation="landing.fhir_resources")
            if r.hits}
    assert ("Patient.identifier.value", "resident_id", "declared") in fhir
    assert ("Patient.telecom.value", "mobile_phone", "declared") in fhir
    staged = rows(planted_report, layer="staging", column="phone", detector="mobile_phone")
    assert staged and all(r.verdict == "declared" for r in staged)
    # control ids are often timestamps: a date-shaped routing value is not personal data
    assert not [r for r in planted_report.rows if r.layer != "clinical" and r.verdict == "undeclared"
                and not (r.detector == "date" and r.column == "control_id")]


def test_report_never_holds_values(planted_report, clean_report):
    assert_no_values(planted_report)
    assert_no_values(clean_report)
    assert set(planted_report.as_dict()) >= {"failed", "rows", "errors", "failures", "verdicts"}


def test_pseudonym_columns_are_checked_for_the_format(planted_report, settings):
    declared = {"ref": {"identifier": "quasi", "treatment": "pseudonymize"},
                "note": {"identifier": "none", "treatment": "keep"}}
    rel = Relation("clinical", "clinical.scan_planted", declared, "clinical", "scan_planted")
    with connect(settings, "pipeline", autocommit=True) as conn:
        conn.execute("update clinical.scan_planted set ref = 'ab12' where id = 2")
        result = scan_relation(conn, rel, 100, 0)
    ref = [r for r in result if r.column == "ref"]
    assert [(r.detector, r.hits, r.values, r.verdict) for r in ref] == [("pseudonym_format", 1, 2, "declared")]


def test_json_paths():
    segment = ["PID", [[["1"]]], [], [[["12345678"], [""], [""], ["HIS", "1.2"], ["MR"]]], [], [[["张"], ["伟"]]]]
    assert list(json_leaves(segment)) == [("PID-1", "1"), ("PID-3", "12345678^^^HIS&1.2^MR"), ("PID-5", "张^伟")]
    entry = {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "name": [{"family": "张"}],
                                                   "contained": [{"resourceType": "Device", "serialNumber": "S1"}]}}
    assert list(json_leaves(entry)) == [("Bundle.entry.fullUrl", "urn:uuid:1"), ("Patient.name.family", "张"),
                                        ("Device.serialNumber", "S1")]
    assert list(json_leaves({"a": [{"b": 1, "c": True}, "x"]})) == [("$.a[*].b", "1"), ("$.a[*]", "x")]


def printed(report: ScanReport, **kwargs) -> list[str]:
    from rich.console import Console

    console = Console(width=80, record=True, force_terminal=False)
    report.print(console, **kwargs)
    return console.export_text().splitlines()


@pytest.mark.parametrize("everything", [False, True])
def test_the_printed_report_fits_80_columns_without_cutting_cells(planted_report, everything):
    lines = printed(planted_report, everything=everything)
    assert all(len(line) <= 80 for line in lines)
    assert not any("…" in line for line in lines), [line for line in lines if "…" in line][:3]
    text = "\n".join(lines)
    assert "scan_planted" in text and "scan failed" in text
    assert not any(value in text for value in PLANTED)


def test_the_short_report_lists_only_what_needs_a_look(clean_report):
    lines = printed(clean_report)
    assert any(line.strip().startswith("clinical") and "clean" in line for line in lines)
    assert not any("stg_hl7" in line for line in lines)  # declared hits in staging: a count, not rows

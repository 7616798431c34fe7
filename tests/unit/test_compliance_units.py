"""Sharing, retention and access-log pieces without a database: agreements in force, the safe_harbor profile,
per-agreement keys, the export envelope, retention floors and digests, and the server-log reader."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from orchestration.catalog import Agreement, Column, RetentionRule
from orchestration.envelope import (
    EnvelopeError,
    decrypt_file,
    encrypt_file,
    keygen,
    load_private_key,
    load_public_key,
)


def agreement(**changes) -> Agreement:
    fields = dict(name="a", recipient="R", purpose="p", legal_basis="b", approver="DPO", approved_on="2026-01-01",
                  valid_from="2026-02-01", valid_until="2026-12-31", profile="safe_harbor", row_limit=10,
                  models={"m": ("patient_key",)})
    return Agreement(**{**fields, **changes})


def column(name: str, **changes) -> Column:
    fields = dict(layer="analytics", node="m", relation="analytics.m", materialization="table", name=name,
                  data_type="text", description="", category="c", level=2, identifier="quasi", hipaa="none",
                  treatment="keep", extra={})
    return Column(**{**fields, **changes})


@pytest.mark.parametrize(("changes", "today", "reason"), [
    ({}, date(2026, 6, 1), ""),
    ({}, date(2027, 1, 1), "expired on 2026-12-31"),
    ({}, date(2026, 1, 15), "not yet valid"),
    ({"approver": ""}, date(2026, 6, 1), "not approved"),
    ({"profile": "nope"}, date(2026, 6, 1), "unknown de-identification profile"),
])
def test_an_agreement_is_in_force_only_when_approved_and_valid(changes, today, reason):
    from orchestration.sharing import in_force_problem

    problem = in_force_problem(agreement(**changes), "a", today)
    assert (reason in problem) if reason else problem == ""
    assert "no data-sharing agreement named" in in_force_problem(None, "ghost", today)


def test_safe_harbor_drops_identifiers_and_generalizes():
    from orchestration.catalog import policy
    from orchestration.sharing import profile_transform, transform_value

    profile = policy()["export_profiles"]["safe_harbor"]
    assert profile_transform(column("mrn", identifier="direct", hipaa="mrn"), profile) == "drop"
    assert profile_transform(column("city", hipaa="geographic"), profile) == "drop"
    assert profile_transform(column("province", hipaa="geographic"), profile) == "keep"
    assert profile_transform(column("note_text", extra={"from": "s.scrubbed_text"}), profile) == "drop"
    assert profile_transform(column("patient_key", treatment="pseudonymize"), profile) == "rekey"
    assert profile_transform(column("observed_at", treatment="date_shift", data_type="timestamptz"), profile) == "year"
    assert profile_transform(column("postal_code", hipaa="geographic"), profile) == "postal3"
    assert transform_value("year", datetime(2026, 3, 4, 5, 6, tzinfo=UTC), profile, b"k") == 2026
    assert transform_value("age", 93, profile, b"k") == "90+" and transform_value("age", 89, profile, b"k") == 89
    assert transform_value("postal3", "10213", profile, b"k") == "102"


def test_sparse_postal_areas_are_suppressed():
    from orchestration.catalog import policy
    from orchestration.sharing import Planned, suppress_sparse

    profile = policy()["export_profiles"]["safe_harbor"]
    rows = [["102"]] + [["100"]] * 6 + [["200"]] * 2  # 102 is a listed sparse area, 200 is rare in this extract
    suppress_sparse(rows, [Planned(column("postal_code"), "postal3")], profile)
    assert [r[0] for r in rows] == ["000"] + ["100"] * 6 + ["000"] * 2


def test_each_agreement_has_its_own_key_stable_across_rotation():
    from connectors.crypto import KeyRing
    from orchestration.sharing import agreement_key, rekey

    ring = KeyRing({1: bytes(range(32))}, 1, 1)
    first, second = agreement_key(ring, "one"), agreement_key(ring, "two")
    assert rekey(first, "abc") != rekey(second, "abc") and len(rekey(first, "abc")) == 32
    assert agreement_key(ring.with_new_version(), "one") == first


def test_an_agreement_listing_an_undeclared_column_is_refused():
    from orchestration.sharing import Refused, plan

    with pytest.raises(Refused, match="m has no column secret"):
        plan(agreement(models={"m": ("patient_key", "secret")}), lambda m: [column("patient_key")], {})


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_the_envelope_round_trips_and_refuses_tampering(tmp_path, cipher, monkeypatch):
    import orchestration.envelope as envelope

    monkeypatch.setattr(envelope, "CHUNK", 1000)  # several chunks, so truncation at a chunk boundary is tried
    private_pem, public_pem = keygen()
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"patient_key,value\n" + b"abc,1.5\n" * 500)
    sealed = tmp_path / "sealed.bin"
    encrypt_file(plain, sealed, load_public_key(public_pem), cipher)
    assert plain.read_bytes()[:20] not in sealed.read_bytes() and sealed.stat().st_mode & 0o777 == 0o600
    out = tmp_path / "out.csv"
    assert decrypt_file(sealed, out, load_private_key(private_pem)) == cipher
    assert out.read_bytes() == plain.read_bytes()
    data = sealed.read_bytes()
    for broken in (data[:-1] + bytes([data[-1] ^ 1]), data[: envelope.HEADER.size + 4 + 1000 + 16]):
        sealed.write_bytes(broken)
        with pytest.raises(EnvelopeError):
            decrypt_file(sealed, out, load_private_key(private_pem))
    sealed.write_bytes(data)
    with pytest.raises(EnvelopeError):
        decrypt_file(sealed, out, load_private_key(keygen()[0]))


def test_retention_never_goes_below_a_floor_and_digests_keys():
    from orchestration.retention import floor_problem, keys_digest

    audit_rule = RetentionRule("audit.access_log", "audit", 30, "b", "logged_at", "access_id", "delete")
    assert "below the 183-day floor" in floor_problem(audit_rule)
    assert floor_problem(RetentionRule("landing.rejected", "landing", 30, "b", "received_at", "rejected_id",
                                       "delete")) == ""
    assert keys_digest([3, 1, 2]) == keys_digest([1, 2, 3]) != keys_digest([1, 2])


def test_a_rule_that_cannot_be_applied_as_declared_is_skipped_with_its_reason():
    from orchestration.retention import rule_problem

    base = dict(relation="landing.rejected", layer="landing", days=30, basis="b", date_column="received_at",
                key_column="rejected_id", action="delete")
    assert rule_problem(RetentionRule(**base)) == ""
    assert "legal hold" in rule_problem(RetentionRule(**base, legal_hold=True))
    assert "unknown condition" in rule_problem(RetentionRule(**base, only_when="whenever"))
    assert "processed_by" in rule_problem(RetentionRule(**{**base, "action": "keep_deidentified"}))


STDERR_LOG = """\
2026-12-02 10:00:00.123 UTC [101] wardflow_analyst@wardflow LOG:  statement: select count(*) from analytics.patients
\twhere province = 'Secret Province' and sex = 'F'
2026-12-02 10:00:01.000 UTC [102] wardflow_pipeline@wardflow LOG:  statement: select 1
2026-12-02 10:00:02.000 UTC [103] wardflow_reader@wardflow LOG:  execute <unnamed>: select * from aggregates.vital_signs_summary where n > 5
2026-12-02 10:00:03.000 UTC [104] wardflow_analyst@wardflow LOG:  statement: this is not SQL 'Secret Name'
"""


def test_the_access_reader_keeps_relations_and_drops_literals():
    from orchestration.access import parse_log

    found = list(parse_log(STDERR_LOG.splitlines(keepends=True)))
    assert [a.role for a in found] == ["wardflow_analyst", "wardflow_reader", "wardflow_analyst"]
    assert found[0].relations == ("analytics.patients",) and found[0].command == "SELECT"
    assert found[1].relations == ("aggregates.vital_signs_summary",)
    assert found[0].logged_at == datetime(2026, 12, 2, 10, 0, 0, 123000, tzinfo=UTC)
    text = repr([a.as_dict() for a in found])
    assert "Secret" not in text and "'F'" not in text and "5" not in found[1].shape


def test_the_access_reader_reads_jsonlog():
    import json

    from orchestration.access import parse_log

    line = json.dumps({"timestamp": "2026-12-02 10:00:00.123 UTC", "user": "wardflow_compliance", "dbname": "w",
                       "pid": 7, "error_severity": "LOG", "message": "statement: select * from audit.sharing_log"})
    (found,) = parse_log([line])
    assert found.role == "wardflow_compliance" and found.relations == ("audit.sharing_log",)


def test_only_release_layers_leave_whatever_an_agreement_lists():
    from orchestration.sharing import Refused, plan

    with pytest.raises(Refused, match="not in a release layer"):
        plan(agreement(), lambda m: [column("patient_key", layer="vault")], {})

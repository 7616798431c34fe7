"""The Dagster definitions load, the graph has every layer with its checks, and the inbox sensor works."""

import dagster as dg
import pytest

from orchestration.project import prepare_manifest


@pytest.fixture(scope="module")
def defs():
    prepare_manifest()
    from orchestration.definitions import defs

    return defs


def test_every_layer_is_a_group_and_keys_follow_folders(defs):
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for expected in ("landing/hl7_messages", "landing/fhir_resources", "vault/vault_patients",
                     "vault/patient_identifiers", "clinical/fct_vital_signs", "clinical/fct_notes",
                     "analytics/vital_signs", "analytics/clinical_notes", "audit/column_classification"):
        assert expected in keys
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"landing", "vault", "clinical", "analytics", "audit", "seeds"} <= groups


def test_privacy_checks_block_and_cover_every_analytics_view(defs):
    graph = defs.resolve_asset_graph()
    analytics = {k for k in graph.get_all_asset_keys() if k.path[0] == "analytics"}
    specs = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    blocking = {spec.asset_key for spec in specs if spec.name == "privacy_suite" and spec.blocking}
    assert analytics and analytics == blocking


def test_privacy_tags_come_from_declarations(defs):
    graph = defs.resolve_asset_graph()
    tags = graph.get(dg.AssetKey(["vault", "vault_patients"])).tags
    assert tags["privacy_max_level"] == "5" and tags["privacy_identifiers"] == "direct"


def test_inbox_sensor_requests_a_run_only_when_files_wait(tmp_path, monkeypatch):
    from orchestration.sensors import inbox_sensor

    monkeypatch.setenv("WARDFLOW_HL7_INBOX", str(tmp_path))
    monkeypatch.setenv("WARDFLOW_HOME", str(tmp_path / "home"))
    assert isinstance(inbox_sensor(dg.build_sensor_context()), dg.SkipReason)
    (tmp_path / "a.hl7").write_bytes(b"MSH|^~\\&|A|B|C|D|20261101||ADT^A01|1|P|2.5\r")
    (tmp_path / "partial.hl7.part").write_bytes(b"MSH")
    request = inbox_sensor(dg.build_sensor_context())
    assert isinstance(request, dg.RunRequest) and request.tags["wardflow/files"] == "1"
    (tmp_path / "processed").mkdir()
    (tmp_path / "a.hl7").rename(tmp_path / "processed" / "a.hl7")
    assert isinstance(inbox_sensor(dg.build_sensor_context()), dg.SkipReason)


def test_the_scrubber_asset_sits_between_the_vault_texts_and_analytics(defs):
    """One scrubber, in Python: analytics text models read its table, which reads the vault's texts."""
    graph = defs.resolve_asset_graph()
    scrubbed = graph.get(dg.AssetKey(["clinical", "scrubbed_texts"]))
    assert {k.to_user_string() for k in scrubbed.parent_keys} == {"vault/vault_texts", "vault/patient_known_values"}
    assert {k.to_user_string() for k in scrubbed.child_keys} == {"analytics/clinical_notes", "analytics/alarms"}
    assert not scrubbed.is_external  # a real, materializable Python asset, not only a dbt source


def test_the_retention_purge_runs_on_its_own_daily_schedule_and_never_in_a_build(defs):
    purge = dg.AssetKey(["audit", "retention_purge"])
    assert purge in defs.resolve_job_def("retention").asset_layer.selected_asset_keys
    assert purge not in defs.resolve_job_def("wardflow_all").asset_layer.selected_asset_keys
    schedule = defs.resolve_schedule_def("daily_retention")
    assert schedule.job_name == "retention" and schedule.cron_schedule == "30 3 * * *"

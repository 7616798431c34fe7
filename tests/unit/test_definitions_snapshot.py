"""A snapshot of the Dagster graph (asset keys with their group, kinds and tags, asset checks and whether they
block, jobs, schedules and sensors), so that every change to the graph shows up as one reviewed diff.

Update it after a deliberate change with ``WARDFLOW_UPDATE_SNAPSHOT=1 pytest tests/unit/test_definitions_snapshot.py``
and review the diff of tests/unit/dagster_definitions.snapshot.txt."""

import os
from pathlib import Path

import pytest

from orchestration.project import prepare_manifest

SNAPSHOT = Path(__file__).with_name("dagster_definitions.snapshot.txt")


@pytest.fixture(scope="module")
def defs():
    prepare_manifest()
    from orchestration.definitions import defs

    return defs


def snapshot(defs) -> list[str]:
    """One line per asset, check, job, schedule and sensor, sorted; tags as key=value (no run-time values)."""
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        tags = " ".join(f"{k}={v}" for k, v in sorted(node.tags.items()) if not k.startswith("dagster/kind/"))
        lines.append(f"asset {key.to_user_string()} group={node.group_name} kinds={','.join(sorted(node.kinds))} {tags}"
                     .rstrip())
    for check in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        spec = graph.get_check_spec(check)
        lines.append(f"check {check.asset_key.to_user_string()}:{check.name} blocking={spec.blocking}")
    repository = defs.get_repository_def()
    lines += [f"job {job.name}" for job in sorted(repository.get_all_jobs(), key=lambda j: j.name)
              if not job.name.startswith("__")]
    lines += [f"schedule {s.name} {s.cron_schedule}" for s in sorted(repository.schedule_defs, key=lambda s: s.name)]
    lines += [f"sensor {s.name}" for s in sorted(repository.sensor_defs, key=lambda s: s.name)]
    return lines


def test_definitions_snapshot(defs):
    lines = "\n".join(snapshot(defs)) + "\n"
    if os.environ.get("WARDFLOW_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(lines)
    assert lines == SNAPSHOT.read_text(), "the Dagster graph changed: review, then update the snapshot"


def test_the_snapshot_notices_a_new_asset(defs):
    """Fails once on purpose: a graph with one more asset does not match."""
    import dagster as dg

    @dg.asset(key=["analytics", "unreviewed"])
    def unreviewed() -> None: ...

    extra = dg.Definitions.merge(defs, dg.Definitions(assets=[unreviewed]))
    assert "\n".join(snapshot(extra)) + "\n" != SNAPSHOT.read_text()

"""Landing assets: the inbox drop folder ingested into landing.hl7_messages and landing.fhir_resources."""


import dagster as dg
from dagster import AssetExecutionContext

from connectors.crypto import load_keyring
from connectors.ingest import ingest_paths
from orchestration.inbox import inbox_dir, links_in, move_done, pending_files
from orchestration.resources import WardflowWarehouse

LANDING_KEYS = [dg.AssetKey(["landing", "hl7_messages"]), dg.AssetKey(["landing", "fhir_resources"])]


@dg.multi_asset(
    specs=[dg.AssetSpec(key, group_name="landing", kinds={"postgres"},
                        description=f"Encrypted {key.path[-1]} as received; see docs/ingestion.md.")
           for key in LANDING_KEYS],
    can_subset=False,
)
def landing_inbox(context: AssetExecutionContext, warehouse: WardflowWarehouse):
    """Ingest every file waiting in the inbox; each file moves to processed/ (or rejected/ if any part was)."""
    settings = warehouse.settings()
    inbox = inbox_dir(settings)
    files = pending_files(inbox)
    ring = load_keyring(settings)
    totals = {"files": 0, "landed": 0, "duplicates": 0, "rejected": 0}
    links = links_in(inbox)
    for link in links:
        move_done(inbox, link, rejected=True)
    if links:
        context.log.warning(f"{len(links)} symbolic links in the inbox not followed; moved to rejected/")
    with warehouse.connect("ingest") as conn:  # the connectors' login: landing only
        for path in files:
            report = ingest_paths([path], conn, ring, source_kind="file", follow_links=False)
            moved = move_done(inbox, path, rejected=report.counts.rejected > 0)
            # counts and the folder only: file names can carry patient names (some exporters name files so)
            context.log.info(f"ingested a file into {moved.destination.parent.name}/: {report.counts.landed} landed, "
                             f"{report.counts.duplicates} duplicate, {report.counts.rejected} rejected")
            totals["files"] += 1
            totals["landed"] += report.counts.landed
            totals["duplicates"] += report.counts.duplicates
            totals["rejected"] += report.counts.rejected
        counts: dict[str, int] = dict(conn.execute(
            "select 'hl7_messages', count(*) from landing.hl7_messages union all "
            "select 'fhir_resources', count(*) from landing.fhir_resources").fetchall())
    for key in LANDING_KEYS:
        yield dg.MaterializeResult(asset_key=key, metadata={**totals, "row_count": counts[key.path[-1]]})

"""The canary check: a blocking asset check that searches the release candidate (clinical) and what is
published (analytics, aggregates) for the values of the newest canary sets (one is planted by every build,
orchestration/canaries.py). It uses no detector of the scrubber: it looks for values it knows, in every text column, normalized. Its result
names relations, columns, kinds and counts, never a value. Acting on a failure (withdrawing the release)
is a step of its own (orchestration/publication.py), not part of the check."""

import dagster as dg

from orchestration.resources import WardflowWarehouse
from orchestration.warehouse.database import scalar

# Canary patients found among the published patients, by their identifiers' keyed hashes (not by the flag
# the k-anonymity model computes from the same table).
CANARIES_PUBLISHED = """
select count(*) from analytics.patients
where patient_key in (select po.patient_key from vault.patient_identifiers as pi
                      join vault.patient_occurrences as po using (source, occurrence)
                      where pi.id_key in (select unnest(c.id_keys) from vault.canaries as c))"""


@dg.asset_check(asset=dg.AssetKey(["analytics", "patients"]), name="canaries", blocking=True,
                # the dbt step builds every table before any check runs; no dependency on an asset that has a
                # blocking check of its own, so that the canary check runs even when another check failed
                additional_deps=[dg.AssetKey(["clinical", "fct_notes"]), dg.AssetKey(["clinical", "scrubbed_texts"]),
                                 dg.AssetKey(["vault", "canaries"])],
                description="No canary value (planted every build through every identifier path) in clinical, analytics "
                            "or aggregates, after normalization; no canary patient published.")
def canary_check(warehouse: WardflowWarehouse) -> dg.AssetCheckResult:
    from orchestration.canaries import find_canaries, load_recent

    with warehouse.connect(with_keys=True) as conn:
        sets = load_recent(conn)  # the newest sets' values; every set's patients in CANARIES_PUBLISHED
        found = find_canaries(conn, sets) if sets else []
        published = scalar(conn.execute(CANARIES_PUBLISHED)) if sets else 0
    passed = bool(sets) and not found and published == 0
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, metadata={
        "canaries_planted": bool(sets), "sets_searched": len(sets), "leaks": len(found),
        "canary_patients_published": int(published), "found": dg.MetadataValue.json(found)})

"""The canary asset: a fresh canary set planted by every build (orchestration/canaries.py), upstream of the
dbt build (its key is the dbt source ``vault.canaries``, which clinical.patient_k_anonymity reads), so that
each build's scrubber and models meet canaries they have not seen. It is in every job that builds the
release (``wardflow_all`` and the sensor's ``build_downstream``), not in the ingest-only job. Its metadata
and log hold counts only."""


import dagster as dg

from connectors.crypto import load_keyring
from orchestration.canaries import plant
from orchestration.resources import WardflowWarehouse
from orchestration.warehouse.database import scalar


@dg.asset(key=["vault", "canaries"], group_name="vault", kinds={"postgres"},
          description="A fresh canary set (synthetic patients, never real) sealed in vault.canaries and landed "
                      "through every identifier path; suppressed before publication, searched by the canary check.")
def canary_set(context: dg.AssetExecutionContext, warehouse: WardflowWarehouse) -> dg.MaterializeResult:
    ring = load_keyring(warehouse.settings())
    with warehouse.connect(with_keys=True) as conn:
        landed = plant(conn, ring)
        sets = scalar(conn.execute("select count(*) from vault.canaries"))
    context.log.info(f"canary set planted: {landed} landing rows; {sets} sets in the vault")
    return dg.MaterializeResult(metadata={"landed_rows": landed, "sets_planted": int(sets)})

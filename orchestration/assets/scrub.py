"""The one free-text scrubber in the pipeline: a Python asset between the vault's texts and analytics.

It sits between dbt models (dagster-dbt): upstream `vault/vault_texts` and `vault/patient_known_values`,
downstream the analytics models that read the dbt source `clinical.scrubbed_texts`. Metadata and the audit
event carry counts and the scrubber version only.
"""


import json

import dagster as dg

from orchestration.resources import WardflowWarehouse
from orchestration.warehouse.scrubbed_texts import scrub_pending


@dg.asset(key=["clinical", "scrubbed_texts"], group_name="clinical",
          deps=[dg.AssetKey(["vault", "vault_texts"]), dg.AssetKey(["vault", "patient_known_values"])],
          description="Free text (notes, alarm texts) scrubbed by deid/ with each patient's known values; "
                      "withheld (fail closed) when scrubbing fails or runs too long.")
def scrubbed_texts(context: dg.AssetExecutionContext, warehouse: WardflowWarehouse) -> dg.MaterializeResult:
    with warehouse.connect("pipeline", with_keys=True) as conn:
        report = scrub_pending(conn)
        conn.execute("select audit.record('pipeline.scrub_texts', %s, %s::jsonb)",
                     (context.run_id, json.dumps(report.as_dict())))
        conn.commit()
    if report.withheld:
        context.log.warning(f"{report.withheld} texts withheld (scrubbing failed or too slow)")
    return dg.MaterializeResult(metadata=report.as_dict())

"""Great Expectations suites as Dagster asset checks. The privacy checks block; acting on a failure
(withdrawing the release, the audit event) is the publication step's (orchestration/publication.py)."""


from collections.abc import Mapping
from typing import Any

import dagster as dg

from expectations.context import run_suite
from expectations.results import CheckOutcome, summarize
from orchestration.catalog import layer_of, node_privacy, policy
from orchestration.resources import WardflowWarehouse


def analytics_models(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted((n for n in manifest["nodes"].values()
                   if n["resource_type"] == "model" and layer_of(n) == "analytics"), key=lambda n: n["name"])


def privacy_columns(model: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(text columns to scan for identifier patterns, pseudonym columns to check for format), from the catalog."""
    columns = node_privacy(model)
    return ([c.name for c in columns if c.treatment != "pseudonymize" and c.is_text],
            [c.name for c in columns if c.treatment == "pseudonymize"])


def _metadata(outcomes: list[CheckOutcome]) -> dict[str, Any]:
    failed = [o for o in outcomes if not o.success]
    return {
        "expectations": len(outcomes),
        "failed": len(failed),
        "failed_expectations": dg.MetadataValue.json([o.as_dict() for o in failed]),
        "unexpected_rows": int(sum(o.counts.get("unexpected_count", 0) for o in outcomes)),
    }


def build_privacy_checks(manifest: Mapping[str, Any]) -> list[dg.AssetChecksDefinition]:
    checks = []
    for model in analytics_models(manifest):
        checks.append(_privacy_check(model["schema"], model["name"], *privacy_columns(model)))
    return checks


def _privacy_check(schema: str, name: str, text: list[str], pseudonyms: list[str]) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["analytics", name]), name="privacy_suite", blocking=True,
                    description="No resident ID, phone or e-mail pattern in any text column, pseudonyms well formed "
                                "(Great Expectations, over exactly the rows analysts are served). Blocking.")
    def _check(warehouse: WardflowWarehouse) -> dg.AssetCheckResult:
        from expectations.suites.privacy import privacy_expectations

        result = run_suite(warehouse.settings(), "pipeline", "privacy", schema, name,
                           privacy_expectations(text, pseudonyms, policy()["pseudonym_format"]))
        outcomes = summarize("privacy", f"{schema}.{name}", result)
        passed = all(o.success for o in outcomes)
        return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, metadata=_metadata(outcomes))

    return _check

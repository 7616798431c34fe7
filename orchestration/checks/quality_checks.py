"""Quality suites as Dagster asset checks, generated from expectations/suites (not wired one by one): one
check per suite, asset and severity, on the asset the suite validates. A blocking check fails with severity
ERROR (what depends on the asset is not built, the release is not published); a warning check with WARN.
Metadata and results hold counts, expectation names and senders, never a value."""

from collections.abc import Iterable

import dagster as dg

from expectations.checks import Check
from orchestration.resources import WardflowWarehouse


def _groups(checks: Iterable[Check]) -> dict[tuple[str, tuple[str, str], str], list[Check]]:
    out: dict[tuple[str, tuple[str, str], str], list[Check]] = {}
    for check in checks:
        out.setdefault((check.suite, check.asset, check.severity), []).append(check)
    return out


def build_quality_checks() -> list[dg.AssetChecksDefinition]:
    from expectations.suites import all_checks

    return [_quality_check(suite, asset, severity, members)
            for (suite, asset, severity), members in _groups(all_checks()).items()]


def check_name(suite: str, severity: str) -> str:
    return f"quality_{suite}" + ("" if severity == "blocking" else "_warnings")


def _quality_check(suite: str, asset: tuple[str, str], severity: str, members: list[Check]) -> dg.AssetChecksDefinition:
    blocking = severity == "blocking"
    names = [c.name for c in members]

    @dg.asset_check(asset=dg.AssetKey(list(asset)), name=check_name(suite, severity), blocking=blocking,
                    description=f"Quality suite {suite} ({severity}, Great Expectations): " + "; ".join(names) + ".")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WardflowWarehouse) -> dg.AssetCheckResult:
        from expectations.quality import run_quality

        outcomes = run_quality(warehouse.settings(), members, context.run.run_id, build_docs=False)
        failed = [o for o in outcomes if not o.success]
        return dg.AssetCheckResult(
            passed=not failed, severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            metadata={"expectations": len(outcomes), "failed": len(failed),
                      "unexpected_rows": sum(o.unexpected for o in outcomes),
                      "failed_expectations": dg.MetadataValue.json([o.as_dict() for o in failed])})

    return _check

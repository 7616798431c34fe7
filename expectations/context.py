"""An ephemeral Great Expectations context over the wardflow database, as a given role: the privacy suite's
column expectations (run_suite) and the quality checks (run_checks, one grouped SQL expectation each)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from connectors.settings import Settings, session_options
from expectations.checks import Check
from orchestration.warehouse.database import role_params

# Results never carry values (DESIGN.md decision 8): no unexpected lists, no rows.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0, "include_unexpected_rows": False,
                 "return_unexpected_index_query": False}


def sqlalchemy_url(settings: Settings, role: str) -> str:
    p = role_params(settings, role)
    auth = quote(p["user"], safe="") + (":" + quote(p["password"], safe="") if p.get("password") else "")
    # the safe search_path at connection start, like every wardflow session (issue 11): GX names schemas itself
    options = quote(session_options(), safe="")
    return (f"postgresql+psycopg://{auth}@{p.get('host', '127.0.0.1')}:{p.get('port', '5432')}/{p.get('dbname', '')}"
            f"?options={options}")


def run_suite(settings: Settings, role: str, suite_name: str, schema: str, table: str,
              expectations: list[Any]) -> Any:
    """Validate one relation with the given expectations; returns the GX validation result."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_postgres(name=f"wardflow_{role}", connection_string=sqlalchemy_url(settings, role))
    asset = source.add_table_asset(name=f"{schema}.{table}", table_name=table, schema_name=schema)
    batch = asset.add_batch_definition_whole_table("whole table")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{suite_name}.{schema}.{table}"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}.{schema}.{table}", data=batch, suite=suite))
    return definition.run(result_format=RESULT_FORMAT)


def _context(settings: Settings, role: str, docs_dir: Path | None = None) -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if docs_dir is not None:
        context.add_data_docs_site(site_name="wardflow", site_config={
            "class_name": "SiteBuilder", "show_how_to_buttons": False,  # type: ignore[typeddict-unknown-key]  # GX's SiteBuilder takes it; the TypedDict omits it
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    return context


def run_checks(settings: Settings, role: str, checks: list[Check], docs_dir: Path | None = None,
               row_key_hasher: Any = None) -> list[tuple[Check, Any]]:
    """Run quality checks in one context: one table asset per relation, one suite per (suite, relation).
    Returns (check, GX expectation result) pairs in the order given; with ``docs_dir``, Data Docs are built there
    from the results the context kept (they already hold only counts and hashed keys)."""
    import great_expectations as gx

    from expectations.gx_expectation import ExpectGroupsWithinTolerance, set_row_key_hasher

    context = _context(settings, role, docs_dir)
    source = context.data_sources.add_postgres(name=f"wardflow_{role}", connection_string=sqlalchemy_url(settings, role))
    by_suite: dict[tuple[str, tuple[str, str]], list[Check]] = {}
    for check in checks:
        by_suite.setdefault((check.suite, check.asset), []).append(check)
    assets: dict[tuple[str, str], Any] = {}
    outcomes: dict[int, Any] = {}
    set_row_key_hasher(row_key_hasher)
    try:
        for (suite_name, asset_key), members in by_suite.items():
            if asset_key not in assets:
                assets[asset_key] = source.add_table_asset(name=".".join(asset_key), table_name=asset_key[1],
                                                           schema_name=asset_key[0])
            name = f"quality.{suite_name}.{'.'.join(asset_key)}"
            suite = context.suites.add(gx.ExpectationSuite(name=name))
            for check in members:
                suite.add_expectation(ExpectGroupsWithinTolerance(
                    unexpected_rows_query=check.query, description=check.name,
                    meta={"name": check.name, "severity": check.severity}))
            batch = assets[asset_key].add_batch_definition_whole_table(name)
            definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
            result = definition.run(result_format={"result_format": "SUMMARY"})
            by_name = {r.expectation_config.meta["name"]: r for r in result.results}
            for check in members:
                outcomes[id(check)] = by_name[check.name]
    finally:
        set_row_key_hasher(None)
    if docs_dir is not None:
        context.build_data_docs(site_names=["wardflow"])
    return [(check, outcomes[id(check)]) for check in checks]


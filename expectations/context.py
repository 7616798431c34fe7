"""An ephemeral Great Expectations context over the wardflow database, as a given role."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from connectors.settings import Settings, session_options
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

"""The relation every vital-sign check reads: clinical.fct_vital_signs with each row's sender (MSH-3|MSH-4 of
the landed message, or the FHIR source kind), landing time and source kind. Senders are systems, not people."""

from __future__ import annotations

from expectations.checks import RELATION

VITALS_ASSET = ("clinical", "fct_vital_signs")

VITALS = f"""
select f.*, f.observation_key as row_key,
       coalesce(m.sender, 'fhir:' || r.source_kind, f.source) as grp,
       coalesce(m.received_at, r.received_at) as received_at,
       coalesce(m.source_kind, r.source_kind) as source_kind
from {RELATION} as f
left join landing.hl7_messages as m on f.source = 'hl7' and m.message_id = f.landing_row_id
left join landing.fhir_resources as r on f.source = 'fhir' and r.resource_row_id = f.landing_row_id"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

# The same relation without the landing columns, for checks that need neither sender nor landing time.
VITALS_BY_SOURCE = f"select f.*, f.observation_key as row_key, f.source as grp from {RELATION} as f"  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value

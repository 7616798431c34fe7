{{ config(severity='error', meta={'dagster': {'ref': {'name': 'patients'}}}) }}
-- Blocking: every relation of the release schemas (analytics, aggregates) is a table, never a view: a view
-- would evaluate the reader's predicates and session settings over rows it does not publish. Read from
-- PostgreSQL's catalog, so a view created by hand is caught too. A failing row names the relation.
-- depends_on: {{ ref('patients') }} {{ ref('encounters') }} {{ ref('vital_signs') }} {{ ref('alarms') }}
-- depends_on: {{ ref('clinical_notes') }} {{ ref('vital_signs_summary') }}
select n.nspname || '.' || c.relname as relation, c.relkind::text as kind
from pg_catalog.pg_class as c
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where n.nspname in ('analytics', 'aggregates') and c.relkind in ('v', 'm', 'f', 'p')

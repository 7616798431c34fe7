{#- on-run-end: the build fails when a role that reads the release (wardflow_analyst, row level;
    wardflow_reader, aggregates) can read a column declared `direct` (masked or not) or a column nobody
    declared. What it checks is PostgreSQL's own answer (schema usage and column privileges, whoever granted
    them), not the grants dbt was told to apply; the declarations say only which columns are direct. The
    message names role, relation and column, never a value. -#}
{% macro wardflow_assert_release_readers(roles=none) -%}
  {%- set roles = roles or var("privacy_policy")["release_roles"] -%}
  {%- if execute -%}
    {%- set rows = run_query(wardflow_release_readable_sql(roles)) -%}
    {%- if rows | length > 0 -%}
      {%- set found = [] -%}
      {%- for row in rows -%}
        {%- do found.append(row[0] ~ " can read " ~ row[1] ~ " (" ~ row[2] ~ ")") -%}
      {%- endfor -%}
      {{ exceptions.raise_compiler_error("Release readable beyond policy (rule privacy.release_readers):\n  - "
            ~ found | join("\n  - ")) }}
    {%- endif -%}
  {%- endif -%}
  select 1
{%- endmacro %}

{#- Every (role, schema.relation.column, declared identifier or 'undeclared') that a release role can read
    and that is direct or undeclared. -#}
{% macro wardflow_release_readable_sql(roles) -%}
  {%- set declared = [] -%}
  {%- for node in graph.nodes.values() if node.resource_type in ["model", "seed", "snapshot"]
        and node.config.materialized != "ephemeral" -%}
    {%- for column in node.columns.values() -%}
      {%- set p = wardflow_column_privacy(column) or {} -%}
      {%- do declared.append((node.schema, node.alias, column.name, p.get("identifier", ""))) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- for source in graph.sources.values() -%}
    {%- for column in source.columns.values() -%}
      {%- set p = wardflow_column_privacy(column) or {} -%}
      {%- do declared.append((source.schema, source.identifier, column.name, p.get("identifier", ""))) -%}
    {%- endfor -%}
  {%- endfor -%}
with declared(schema_name, relation_name, column_name, identifier) as (
  values ('', '', '', '')
  {%- for s, r, c, i in declared %}, ({{ wardflow_sql_literal(s) }}, {{ wardflow_sql_literal(r) }}, {{ wardflow_sql_literal(c) }}, {{ wardflow_sql_literal(i) }}){% endfor %}
),
readable as (
  select r.rolname, n.nspname, c.relname, a.attname
  from pg_catalog.pg_class as c
  join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  cross join (values {% for role in roles %}({{ wardflow_sql_literal(role) }}){{ ", " if not loop.last }}{% endfor %}) as r(rolname)
  where c.relkind in ('r', 'v', 'm', 'p', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_%'
    and pg_catalog.has_schema_privilege(r.rolname, n.oid, 'USAGE')
    and pg_catalog.has_column_privilege(r.rolname, c.oid, a.attnum, 'SELECT')
)
select x.rolname, x.nspname || '.' || x.relname || '.' || x.attname, coalesce(d.identifier, 'undeclared')
from readable as x
left join declared as d on d.schema_name = x.nspname and d.relation_name = x.relname and d.column_name = x.attname
where d.identifier is null or d.identifier = 'direct'
order by 1, 2
{%- endmacro %}

{% macro wardflow_sql_literal(value) -%}
'{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{{ config(severity='error', meta={'dagster': {'ref': {'name': 'patients'}}}) }}
-- Blocking: the smallest group of published patients over everything an analyst can link by patient_key
-- is at least var('k_anonymity'). Computed from the published analytics tables and the catalog alone
-- (every column declared `quasi` that is not a shifted time or a pseudonym, as the set of its values per
-- patient; the row count of relations that declare k_linked_count), never from the model that generalizes.
-- A failing row is one group: a hash of its values and its size, never the values.
-- Every analytics model with a patient_key must be listed here (dbt refuses a ref it was not told of):
-- depends_on: {{ ref('patients') }} {{ ref('encounters') }} {{ ref('vital_signs') }} {{ ref('alarms') }}
-- depends_on: {{ ref('clinical_notes') }}
{%- set parts = [] -%}
{%- if execute -%}
  {%- for node in graph.nodes.values() if node.resource_type == "model" and node.fqn[1] == "analytics"
        and "patient_key" in node.columns -%}
    {%- set cols = [] -%}
    {%- for column in node.columns.values() -%}
      {%- set p = wardflow_column_privacy(column) or {} -%}
      {%- if p.get("identifier") == "quasi" and p.get("treatment") not in ["date_shift", "pseudonymize"] -%}
        {%- do cols.append(column.name) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if cols or node.config.meta.get("k_linked_count") -%}
      {%- do parts.append((node, cols, node.config.meta.get("k_linked_count", false))) -%}
    {%- endif -%}
  {%- endfor -%}
{%- endif %}
with published as (
    select distinct patient_key from {{ ref('patients') }}
),
{%- for node, cols, counted in parts %}
linked_{{ loop.index }} as (
    select patient_key,
           concat_ws('#'
           {%- for c in cols %}, coalesce(string_agg(distinct {{ c }}::text, '|' order by {{ c }}::text), '∅'){% endfor %}
           {%- if counted %}, count(*)::text{% endif %}) as linked
    from {{ ref(node.name) }}
    group by patient_key
),
{%- endfor %}
signatures as (
    select p.patient_key,
           concat_ws('§', ''{% for _ in parts %}, coalesce(l{{ loop.index }}.linked, '∅'){% endfor %}) as signature
    from published as p
    {%- for _ in parts %}
    left join linked_{{ loop.index }} as l{{ loop.index }} using (patient_key)
    {%- endfor %}
)
select md5(signature) as group_hash, count(*) as group_size
from signatures
group by signature
having count(*) < {{ var('k_anonymity') }}

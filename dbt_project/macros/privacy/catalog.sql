{#- Rows of the classification catalog: one per declared column of every source, seed and model. -#}
{% macro wardflow_classification_rows() -%}
  {%- set rows = [] -%}
  {%- if execute -%}
    {%- set items = [] -%}
    {%- for node in graph.nodes.values() if node.package_name == project_name
          and node.resource_type in ["model", "seed"] -%}
      {%- do items.append((node.fqn[1] if node.resource_type == "model" else "seeds", node.schema ~ "." ~ node.alias,
            node.config.materialized, node.columns)) -%}
    {%- endfor -%}
    {%- for source in graph.sources.values() if source.package_name == project_name -%}
      {%- do items.append(("landing", source.schema ~ "." ~ source.name, "source", source.columns)) -%}
    {%- endfor -%}
    {%- for layer, relation, materialized, columns in items | sort -%}
      {%- for column in columns.values() -%}
        {%- set p = wardflow_column_privacy(column) or {} -%}
        {%- set values = [layer, relation, materialized, column.name, p.get("category", ""),
              p.get("identifier", ""), p.get("hipaa", ""), p.get("treatment", ""), (column.description or "")[:300]] -%}
        {%- set literals = [] -%}
        {%- for v in values -%}{%- do literals.append("'" ~ (v | string | replace("'", "''")) ~ "'") -%}{%- endfor -%}
        {%- do rows.append("(" ~ literals | join(", ") ~ ", " ~ ((p.get("level") or 0) | int) ~ ")") -%}
      {%- endfor -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if not rows -%}
    {%- do rows.append("('', '', '', '', '', '', '', '', '', 0)") -%}
  {%- endif -%}
select layer::text, relation::text, materialization::text, column_name::text, category::text, identifier::text,
       hipaa::text, treatment::text, description::text, level::int
from (values
  {{ rows | join(",\n  ") }}
) as c(layer, relation, materialization, column_name, category, identifier, hipaa, treatment, description, level)
where relation <> ''
{%- endmacro %}

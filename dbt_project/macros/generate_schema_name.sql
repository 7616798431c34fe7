{#- Folder = schema: a model's schema is exactly its folder's +schema, never prefixed by the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}

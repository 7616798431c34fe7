{#- Five-year age bands; ages above var max_age grouped (HIPAA Safe Harbor: 90 or older). -#}
{% macro wardflow_age_band(age) -%}
(case
   when ({{ age }}) is null or ({{ age }}) < 0 then 'unknown'
   when ({{ age }}) > {{ var('max_age') }} then '{{ var("max_age") + 1 }}+'
   else (({{ age }}) / 5 * 5)::text || '-' || (({{ age }}) / 5 * 5 + 4)::text
 end)
{%- endmacro %}

{#- Five-year age bands; ages above var max_age grouped (HIPAA Safe Harbor: 90 or older). -#}
{% macro wardflow_age_band(age, width=5) -%}
(case
   when ({{ age }}) is null or ({{ age }}) < 0 then 'unknown'
   when ({{ age }}) > {{ var('max_age') }} then '{{ var("max_age") + 1 }}+'
   else (({{ age }}) / {{ width }} * {{ width }})::text || '-' || (({{ age }}) / {{ width }} * {{ width }} + {{ width - 1 }})::text
 end)
{%- endmacro %}

{#- Generalization hierarchy, by the `generalize` kind a column declares. -#}
{% macro wardflow_generalize(expr, kind, privacy={}) -%}
  {%- if kind == "year" -%} extract(year from ({{ expr }}))::int
  {%- elif kind == "age_years" -%} extract(year from age(({{ privacy.get("at") }})::date, ({{ expr }})::date))::int
  {%- elif kind == "age_band" -%} {{ wardflow_age_band(expr) }}
  {%- elif kind == "age_band_10" -%} {{ wardflow_age_band(expr, 10) }}
  {%- elif kind == "postal3" -%} left(({{ expr }}), 3)
  {%- elif kind == "region" -%} ({{ expr }})
  {%- else -%} {{ exceptions.raise_compiler_error("unknown generalize kind '" ~ kind ~ "' (rule privacy.generalize)") }}
  {%- endif -%}
{%- endmacro %}

{#- Age bands of `width` years; ages above var max_age grouped (HIPAA Safe Harbor: 90 or older), so the band
    below them ends at max_age (80-89 with 20-year bands, never 80-99 beside 90+). -#}
{% macro wardflow_age_band(age, width=5) -%}
(case
   when ({{ age }}) is null or ({{ age }}) < 0 then 'unknown'
   when ({{ age }}) > {{ var('max_age') }} then '{{ var("max_age") + 1 }}+'
   else (({{ age }}) / {{ width }} * {{ width }})::text || '-' || least(({{ age }}) / {{ width }} * {{ width }} + {{ width - 1 }}, {{ var('max_age') }})::text
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

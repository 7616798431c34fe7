{#- Display masks (GB/T 35273 style): 张* · 138****5678 · 110101********123X · z***@example.com.
    Applied at build time from plaintext in flight; the analyst never receives the full value. -#}
{% macro wardflow_mask(expr, kind) -%}
  {%- if kind == "name" -%}
(case when ({{ expr }}) is null then null
      else left(({{ expr }}), 1) || repeat('*', greatest(char_length({{ expr }}) - 1, 1)) end)
  {%- elif kind == "phone" -%}
(case when regexp_replace(({{ expr }}), '\D', '', 'g') ~ '^\d{7,}$'
      then left(regexp_replace(({{ expr }}), '\D', '', 'g'), 3) || '****' || right(regexp_replace(({{ expr }}), '\D', '', 'g'), 4) end)
  {%- elif kind == "resident_id" -%}
(case when char_length({{ expr }}) = 18 then left(({{ expr }}), 6) || '********' || right(({{ expr }}), 4) end)
  {%- elif kind == "email" -%}
(case when position('@' in ({{ expr }})) > 1 then left(({{ expr }}), 1) || '***' || substring(({{ expr }}) from '@.*$') end)
  {%- else -%} {{ exceptions.raise_compiler_error("unknown mask kind '" ~ kind ~ "' (rule privacy.mask)") }}
  {%- endif -%}
{%- endmacro %}

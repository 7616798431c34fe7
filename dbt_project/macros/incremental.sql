{#- Watermarks: staging reads only landing rows above wardflow.hl7_since / wardflow.fhir_since. An
    incremental model sets them (transaction-local) from what it already holds; every other model reads
    everything (the project-level pre-hook resets them to 0). -#}
{% macro wardflow_reset_watermarks() -%}
select set_config('wardflow.hl7_since', '0', true), set_config('wardflow.fhir_since', '0', true)
{%- endmacro %}

{% macro wardflow_watermarks(hl7_max, fhir_max) -%}
  {%- if is_incremental() -%}
select set_config('wardflow.hl7_since', coalesce((select {{ hl7_max }} from {{ this }}), 0)::text, true),
       set_config('wardflow.fhir_since', coalesce((select {{ fhir_max }} from {{ this }}), 0)::text, true)
  {%- else -%}
{{ wardflow_reset_watermarks() }}
  {%- endif -%}
{%- endmacro %}

{% macro wardflow_since(source_kind) -%}
coalesce(nullif(current_setting('wardflow.{{ source_kind }}_since', true), ''), '0')::bigint
{%- endmacro %}

{#- After an incremental run: facts follow their occurrence to its current patient (ADT^A40 merges). -#}
{% macro wardflow_repoint_patients() -%}
  {%- if is_incremental() -%}
update {{ this }} as t set patient_key = po.patient_key
from {{ ref('patient_occurrences') }} as po
where t.patient_occurrence = po.source || ':' || po.occurrence and t.patient_key is distinct from po.patient_key
  {%- else -%}
select 1
  {%- endif -%}
{%- endmacro %}

{#- After an incremental run: rows of patient keys that a merge retired are removed. -#}
{% macro wardflow_drop_retired_patients() -%}
  {%- if is_incremental() -%}
delete from {{ this }} where patient_key not in (select patient_key from {{ ref('patient_occurrences') }})
  {%- else -%}
select 1
  {%- endif -%}
{%- endmacro %}

{#- Access to the HL7 v2 document that connectors/hl7/parse.py writes: a segment is a JSON array whose
    element n is field n; a field is [repetition][component][subcomponent] of decoded strings. -#}
{% macro hl7(seg, field, comp=1, rep=1, sub=1) -%}
nullif({{ seg }} -> {{ field }} -> {{ rep - 1 }} -> {{ comp - 1 }} ->> {{ sub - 1 }}, '')
{%- endmacro %}

{#- HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) to timestamptz; local offset from var default_utc_offset. -#}
{% macro hl7_ts(expr) -%}
(case when {{ expr }} ~ '^\d{8}' then (
  to_char(to_timestamp(rpad(substring({{ expr }} from '^\d{8,14}'), 14, '0'), 'YYYYMMDDHH24MISS'), 'YYYY-MM-DD HH24:MI:SS')
  || coalesce(substring({{ expr }} from '[+-]\d{4}$'), '{{ var("default_utc_offset") }}'))::timestamptz end)
{%- endmacro %}

{% macro hl7_date(expr) -%}
(case when {{ expr }} ~ '^\d{8}' then to_date(left({{ expr }}, 8), 'YYYYMMDD') end)
{%- endmacro %}

{% macro hl7_num(expr) -%}
(case when {{ expr }} ~ '^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$' then trim({{ expr }})::double precision end)
{%- endmacro %}

{#- The document's segments of a landed message `m` (landing.hl7_messages alias): stored and sealed, or built
    from the decrypted payload when landing stored none (connectors/sql/landing.sql). With `segment_ids`, a
    built document holds only MSH and those segments (a stored one holds all: filter on the segment id). -#}
{% macro hl7_segments(m, segment_ids=none) -%}
(case when {{ m }}.doc is null then landing.hl7_segments(vault.decrypt({{ m }}.payload, {{ m }}.key_version)
      {%- if segment_ids %}, array['{{ segment_ids | join("', '") }}']{% endif %})
      else {{ decrypt_json(m ~ '.doc', m ~ '.key_version') }} -> 'segments' end)
{%- endmacro %}

{#- Decrypt a landing payload (connectors/crypto.py layout) in flight. -#}
{% macro decrypt_json(blob, key_version) -%}
convert_from(vault.decrypt({{ blob }}, {{ key_version }}), 'UTF8')::jsonb
{%- endmacro %}

{#- FHIR dateTime/instant to timestamptz; partial dates (YYYY, YYYY-MM) are not instants and give null. -#}
{% macro fhir_ts(expr) -%}
(case when {{ expr }} ~ '^\d{4}-\d{2}-\d{2}' then ({{ expr }})::timestamptz end)
{%- endmacro %}

{#- A FHIR reference reduced to what it is matched on: urn:uuid:… as is, any URL ending in Type/id as Type/id. -#}
{% macro fhir_local_ref(expr, resource_type) -%}
(case when {{ expr }} ~ '(^|/){{ resource_type }}/[^/]+(/_history/[^/]+)?$'
      then substring({{ expr }} from '({{ resource_type }}/[^/]+)(/_history/[^/]+)?$') else {{ expr }} end)
{%- endmacro %}

{#- Access to the HL7 v2 document that connectors/hl7/parse.py writes: a segment is a JSON array whose
    element n is field n; a field is [repetition][component][subcomponent] of decoded strings. -#}
{% macro hl7(seg, field, comp=1, rep=1, sub=1) -%}
nullif({{ seg }} -> {{ field }} -> {{ rep - 1 }} -> {{ comp - 1 }} ->> {{ sub - 1 }}, '')
{%- endmacro %}

{#- HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) to timestamptz, whole seconds; local offset from var
    default_utc_offset. Null for anything that is not a valid DTM with at least a day (macros/casts.sql). -#}
{% macro hl7_ts(expr) -%}
(case when {{ expr }} ~ '{{ hl7_dtm_re() }}' then (
  overlay(rpad(substring({{ expr }} from '^\d{8,14}'), 14, '0') placing 'T' from 9 for 0)
  || coalesce(substring({{ expr }} from '[+-]\d{4}$'), '{{ var("default_utc_offset") }}'))::timestamptz end)
{%- endmacro %}

{#- The day of an HL7 DT or DTM (its first eight digits), null unless that day exists. -#}
{% macro hl7_date(expr) -%}
(case when {{ expr }} ~ '^{{ calendar_day_re() }}' then left({{ expr }}, 8)::date end)
{%- endmacro %}

{% macro hl7_num(expr) -%}
{{ to_double(expr) }}
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

{#- FHIR dateTime/instant to timestamptz; partial dates (YYYY, YYYY-MM) are not instants and, like any invalid
    value, give null (macros/casts.sql). -#}
{% macro fhir_ts(expr) -%}
(case when {{ expr }} ~ '{{ fhir_datetime_re() }}' then ({{ expr }})::timestamptz end)
{%- endmacro %}

{#- FHIR date to date; null unless it is a whole, real day. -#}
{% macro fhir_date(expr) -%}
(case when {{ expr }} ~ '^{{ calendar_day_re('-') }}$' then ({{ expr }})::date end)
{%- endmacro %}

{#- A FHIR reference reduced to what it is matched on: urn:uuid:… as is, any URL ending in Type/id as Type/id. -#}
{% macro fhir_local_ref(expr, resource_type) -%}
(case when {{ expr }} ~ '(^|/){{ resource_type }}/[^/]+(/_history/[^/]+)?$'
      then substring({{ expr }} from '({{ resource_type }}/[^/]+)(/_history/[^/]+)?$') else {{ expr }} end)
{%- endmacro %}

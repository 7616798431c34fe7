{#- Total casts: each macro gives null, never an error, for a value that would not cast (a day that does not
    exist, hour 24, an offset beyond ±14:59, a number beyond double precision). The guards are regular
    expressions checked before the cast, so that no plpgsql exception block runs per value. A value that the
    guard lets through always casts: tests/integration/test_total_casts.py runs each guard against PostgreSQL's
    own cast over every day of four centuries and against hostile strings. -#}

{#- A real calendar day as YYYYMMDD (sep='') or YYYY-MM-DD (sep='-'), years 0001-9999, leap years included.
    Written without lookahead (PostgreSQL then runs it as a plain automaton, twice as fast): a year is four
    digits not all zero; 29 February needs a year divisible by 4, and by 400 when it ends in 00. -#}
{% macro calendar_day_re(sep='') -%}
((\d{3}[1-9]|\d\d[1-9]0|\d[1-9]00|[1-9]000){{ sep }}((0[1-9]|1[0-2]){{ sep }}(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2]){{ sep }}(29|30)|(0[13578]|1[02]){{ sep }}31)|(\d\d(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00){{ sep }}02{{ sep }}29)
{%- endmacro %}

{#- HL7 DTM: YYYYMMDD[HH[MM[SS[.S{1,4}]]]][+/-ZZZZ], each part in range. -#}
{% macro hl7_dtm_re() -%}
^{{ calendar_day_re() }}(([01]\d|2[0-3])([0-5]\d([0-5]\d(\.\d{1,4})?)?)?)?([+-](0\d|1[0-4])[0-5]\d)?$
{%- endmacro %}

{#- FHIR date, dateTime and instant: YYYY-MM-DD[Thh:mm[:ss[.s]][Z|(+|-)hh:mm]] (partial dates are no instants). -#}
{% macro fhir_datetime_re() -%}
^{{ calendar_day_re('-') }}(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-](0\d|1[0-4]):[0-5]\d)?)?$
{%- endmacro %}

{#- Text to double precision. Plain decimals of under 300 characters cannot overflow or underflow; a value with
    an exponent is checked as numeric first (bounded so that the numeric cast itself cannot fail). -#}
{% macro to_double(expr) -%}
(case when {{ expr }} ~ '^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$' and length({{ expr }}) < 300
      then trim({{ expr }})::double precision
      when {{ expr }} ~ '^\s*[+-]?(\d{1,40}\.?\d{0,40}|\.\d{1,40})[eE][+-]?\d{1,3}\s*$'
           and abs(trim({{ expr }})::numeric) <= 1e300
           and (trim({{ expr }})::numeric = 0 or abs(trim({{ expr }})::numeric) >= 1e-300)
      then trim({{ expr }})::numeric::double precision end)
{%- endmacro %}

{#- A JSON value as an array to iterate: anything else (an object, a string, null) gives no elements. -#}
{% macro json_array(expr) -%}
(case when jsonb_typeof({{ expr }}) = 'array' then {{ expr }} else '[]'::jsonb end)
{%- endmacro %}

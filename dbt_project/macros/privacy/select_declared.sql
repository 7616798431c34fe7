{#- The select list of a model, generated from its own column declarations: each column is its `from`
    expression (default: the column of the same name) with its treatment applied. The rule lives in YAML,
    the mechanism here; nothing is restated in model SQL. `drop` columns cannot be selected. -#}
{% macro wardflow_columns() -%}
  {%- if not execute -%}
    1 as placeholder
  {%- else -%}
    {%- set out = [] -%}
    {%- for column in model.columns.values() -%}
      {%- set p = wardflow_column_privacy(column) or {} -%}
      {%- do out.append(wardflow_treated(column.name, p) ~ " as " ~ column.name) -%}
    {%- endfor -%}
    {%- if not out -%}
      {{ exceptions.raise_compiler_error(model.name ~ ": declares no columns (rule privacy.declared)") }}
    {%- endif -%}
    {{ out | join(",\n    ") }}
  {%- endif -%}
{%- endmacro %}

{% macro wardflow_treated(name, p) -%}
  {%- set src = p.get("from", name) -%}
  {%- set t = p.get("treatment") -%}
  {%- if t in ["keep", "pseudonymize"] -%} {{ src }}
  {%- elif t == "encrypt" -%} vault.encrypt_text(({{ src }})::text)
  {%- elif t == "mask" -%} {{ wardflow_mask(src, p.get("mask")) }}
  {%- elif t == "generalize" -%} {{ wardflow_generalize(src, p.get("generalize"), p) }}
  {%- elif t == "date_shift" and p.get("local_time") -%} {{ wardflow_local_time(wardflow_date_shift(src, p.get("shift_by", "date_shift_days"))) }}
  {%- elif t == "date_shift" -%} {{ wardflow_date_shift(src, p.get("shift_by", "date_shift_days")) }}
  {%- elif t == "redact_text" -%}
    {{ exceptions.raise_compiler_error(model.name ~ "." ~ name ~ ": free text is scrubbed once, in Python (clinical.scrubbed_texts); read the scrubbed column from there (rule privacy.redact_text)") }}
  {%- else -%}
    {{ exceptions.raise_compiler_error(model.name ~ "." ~ name ~ ": treatment '" ~ t ~ "' cannot produce a column (rule privacy.treatment)") }}
  {%- endif -%}
{%- endmacro %}

{#- A published time under var('date_profile'), computed at build time in UTC: the result is stored, and
    neither the build session's TimeZone nor the reader's changes it (adding days to a timestamptz follows
    the session's wall clock, DST rules included; adding them to the UTC wall clock does not).
    shift_weeks: the patient's keyed shift (whole weeks, so the weekday is kept and reveals nothing);
    year_only: 1 January 00:00 UTC of the real year (HIPAA Safe Harbor: no date element but the year). -#}
{% macro wardflow_date_shift(src, shift_by) -%}
  {%- set profile = var('date_profile', 'shift_weeks') -%}
  {%- if profile == "shift_weeks" -%}
(((({{ src }}) at time zone 'UTC') + make_interval(days => {{ shift_by }})) at time zone 'UTC')
  {%- elif profile == "year_only" -%}
make_timestamptz(extract(year from (({{ src }}) at time zone 'UTC'))::int, 1, 1, 0, 0, 0, 'UTC')
  {%- else -%}
    {{ exceptions.raise_compiler_error("unknown date_profile '" ~ profile ~ "': shift_weeks or year_only (rule privacy.date_profile)") }}
  {%- endif -%}
{%- endmacro %}

{#- The hospital's wall-clock time (timestamp without time zone) of a published timestamptz: its UTC wall clock
    plus var('default_utc_offset'), the fixed offset HL7 times without one are read in (China has no daylight
    saving). Computed at build time and stored, like the shifted time it is derived from: the same whole-week
    shift, and no session setting changes it (`at time zone` with a POSIX-style '+08' would count the other way,
    so the offset is added as minutes). Under year_only it is 1 January 00:00 of the year, like the UTC time. -#}
{% macro wardflow_local_time(published) -%}
  {%- set offset = var('default_utc_offset') -%}
  {%- set minutes = (offset[1:3] | int) * 60 + (offset[3:5] | int) -%}
  {%- if var('date_profile', 'shift_weeks') == "year_only" -%}
((({{ published }}) at time zone 'UTC'))
  {%- else -%}
(((({{ published }}) at time zone 'UTC') + make_interval(mins => {{ -minutes if offset[0] == '-' else minutes }})))
  {%- endif -%}
{%- endmacro %}

{#- Incremental merge of a model's new rows (CTE `new`) with the rows it already holds (`old`), column by
    column as declared: `merge: new` (default: the new value when there is one), `old` (keep the first
    value), `least`, `greatest`. Encrypted values kept from `old` are re-sealed with the current key so a
    row never mixes key versions. -#}
{% macro wardflow_merged_columns(key) -%}
  {%- if not execute -%}
    1 as placeholder
  {%- else -%}
    {%- set out = [] -%}
    {%- for column in model.columns.values() -%}
      {%- set p = wardflow_column_privacy(column) or {} -%}
      {%- set c = column.name -%}
      {%- if not is_incremental() or c == key -%}
        {%- set expr = "new." ~ c -%}
      {%- elif p.get("treatment") == "encrypt" -%}
        {%- set expr = "coalesce(new." ~ c ~ ", vault.encrypt(vault.decrypt(old." ~ c ~ ", old.key_version)))" -%}
      {%- elif p.get("merge") == "old" -%}
        {%- set expr = "coalesce(old." ~ c ~ ", new." ~ c ~ ")" -%}
      {%- elif p.get("merge") in ["least", "greatest"] -%}
        {%- set expr = p.get("merge") ~ "(old." ~ c ~ ", new." ~ c ~ ")" -%}
      {%- else -%}
        {%- set expr = "coalesce(new." ~ c ~ ", old." ~ c ~ ")" -%}
      {%- endif -%}
      {%- do out.append(expr ~ " as " ~ c) -%}
    {%- endfor -%}
    {{ out | join(",\n    ") }}
  {%- endif -%}
{%- endmacro %}

{#- The body of an incremental entity model: new rows from `upstream` with their declared treatments,
    merged with what the model holds by `key`. -#}
{% macro wardflow_incremental_merge(upstream, key) -%}
with new as (
    select
        {{ wardflow_columns() }}
    from {{ upstream }}
)
select
    {{ wardflow_merged_columns(key) }}
from new
{% if is_incremental() %}left join {{ this }} as old using ({{ key }}){% endif %}
{%- endmacro %}

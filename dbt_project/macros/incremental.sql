{#- Watermarks: staging reads only landing rows above wardflow.hl7_since / wardflow.fhir_since. An
    incremental model's pre-hook sets them (transaction-local) from vault.build_watermarks, after waiting
    for landing transactions in flight (Lander holds an advisory lock shared), so that every id up to the
    maximum it reads is committed. Its post-hook stores that maximum. var('watermark_margin') re-reads some
    rows anyway (idempotent: incremental models delete+insert by key). Every other model reads everything
    (project-level pre-hook). -#}
{% macro wardflow_reset_watermarks() -%}
select set_config('wardflow.hl7_since', '0', true), set_config('wardflow.fhir_since', '0', true)
{%- endmacro %}

{% macro wardflow_watermarks() -%}
-- wait for landing transactions in flight (they hold the lock shared), so ids up to the maximum are committed
select pg_catalog.pg_advisory_lock(pg_catalog.hashtext('wardflow.landing'));
select
  {%- for source, table, id in [("hl7", "landing.hl7_messages", "message_id"),
                                 ("fhir", "landing.fhir_resources", "resource_row_id")] %}
  set_config('wardflow.{{ source }}_upto', (select coalesce(max({{ id }}), 0) from {{ table }})::text, true),
  set_config('wardflow.{{ source }}_since',
    {%- if is_incremental() %}
    greatest(coalesce((select high_water from vault.build_watermarks
                       where model = '{{ wardflow_model_key() }}' and source = '{{ source }}'), 0) - {{ var('watermark_margin') }}, 0)::text,
    {%- else %}
    '0',
    {%- endif %}
    true){{ "," if not loop.last }}
  {%- endfor %};
select pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('wardflow.landing'))
{%- endmacro %}

{#- The name a model's watermark rows are kept under: schema and table, not the database (`this` names the database
    too, so a renamed, restored or cloned database would find no watermark and re-insert every row). -#}
{% macro wardflow_model_key() -%}
{{ this.schema }}.{{ this.identifier }}
{%- endmacro %}

{% macro wardflow_save_watermarks() -%}
insert into vault.build_watermarks as w (model, source, high_water)
values ('{{ wardflow_model_key() }}', 'hl7', current_setting('wardflow.hl7_upto')::bigint),
       ('{{ wardflow_model_key() }}', 'fhir', current_setting('wardflow.fhir_upto')::bigint)
on conflict (model, source) do update set high_water = excluded.high_water, updated_at = now()
{%- endmacro %}

{#- An upper bound no build sets: only the quarantine's probe does (orchestration/quarantine.py), to find which landed
    row makes a model fail. -#}
{% macro wardflow_until(source_kind) -%}
coalesce(nullif(current_setting('wardflow.{{ source_kind }}_until', true), ''), '9223372036854775807')::bigint
{%- endmacro %}

{% macro wardflow_since(source_kind) -%}
coalesce(nullif(current_setting('wardflow.{{ source_kind }}_since', true), ''), '0')::bigint
{%- endmacro %}

{#- After an incremental run: facts follow their occurrence to its current patient (ADT^A40 merges). Only
    occurrences that moved since this model's last successful build are looked at (vault.patient_occurrences
    .repointed_at; the model's watermark row is saved in the same transaction as this update, so a failed
    build re-points them next time). -#}
{% macro wardflow_repoint_patients() -%}
  {%- if is_incremental() -%}
update {{ this }} as t set patient_key = po.patient_key
from {{ ref('patient_occurrences') }} as po
where po.repointed_at >= coalesce((select min(updated_at) from vault.build_watermarks where model = '{{ wardflow_model_key() }}'),
                                  '-infinity')
  and t.patient_occurrence = po.source || ':' || po.occurrence and t.patient_key is distinct from po.patient_key
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

{#- Incremental release tables (analytics): rows of published patients only, kept in step with
    clinical.patient_k_anonymity. A run (1) forgets every patient whose published values (`state` columns)
    changed, who was suppressed or retired by a merge, or whose occurrences a merge re-pointed since this
    table's last build, then (2) inserts the fact's rows newer than this table's watermark and every row of
    published patients the table does not hold (so the forgotten come back whole, at their new level), and
    (3) stores as watermark the newest landing row of the fact, per source. -#}
{% macro wardflow_release_since(source) -%}
coalesce((select w.high_water from vault.build_watermarks as w where w.model = '{{ wardflow_model_key() }}' and w.source = '{{ source }}'), 0)
{%- endmacro %}

{% macro wardflow_release_forget(state, stale=none) -%}
  {%- if is_incremental() -%}
delete from {{ this }} as t
where t.patient_key in (
    {%- if stale %}
    select patient_key from {{ this }} where {{ stale }}  -- rows written before a column was added: rebuilt whole
    union all
    {%- endif %}
    select held.patient_key
    from (select distinct patient_key, {{ state | join(", ") }} from {{ this }}) as held
    left join {{ ref('patient_k_anonymity') }} as k using (patient_key)
    where k.patient_key is null or k.suppressed
       or ({% for c in state %}held.{{ c }}{{ ", " if not loop.last }}{% endfor %})
          is distinct from ({% for c in state %}k.{{ c }}{{ ", " if not loop.last }}{% endfor %})
    union all
    select po.patient_key from {{ ref('patient_occurrences') }} as po
    where po.repointed_at >= coalesce((select min(w.updated_at) from vault.build_watermarks as w
                                       where w.model = '{{ wardflow_model_key() }}'), '-infinity')
)
  {%- else -%}
select 1
  {%- endif -%}
{%- endmacro %}

{#- The filter of step (2), for a fact aliased `f` with landing_row_id and source. -#}
{% macro wardflow_release_new_rows() -%}
  {%- if is_incremental() -%}
  and (f.landing_row_id > case when f.source = 'hl7' then {{ wardflow_release_since('hl7') }}
                               else {{ wardflow_release_since('fhir') }} end
       or f.patient_key not in (select distinct t.patient_key from {{ this }} as t))
  {%- endif -%}
{%- endmacro %}

{% macro wardflow_release_save(fact) -%}
insert into vault.build_watermarks as w (model, source, high_water)
select '{{ wardflow_model_key() }}', s.source, coalesce((select max(f.landing_row_id) from {{ fact }} as f where f.source = s.source), 0)
from (values ('hl7'), ('fhir')) as s(source)
on conflict (model, source) do update set high_water = excluded.high_water, updated_at = now()
{%- endmacro %}

{#- Pre-hook of every release model: the reader loses SELECT before the build writes, in the same transaction as
    the write, so no row of a build is readable before publication (orchestration/publication.py) grants it back
    after every blocking check passed. A table rebuilt by create-and-rename carries no grant anyway; this covers
    the incremental insert into a table the reader already reads. -#}
{% macro wardflow_close_release(reader) -%}
do $close$ begin
  if pg_catalog.to_regclass(pg_catalog.format('%I.%I', '{{ this.schema }}', '{{ this.identifier }}')) is not null then
    execute pg_catalog.format('revoke select on %I.%I from %I', '{{ this.schema }}', '{{ this.identifier }}', '{{ reader }}');
  end if;
end $close$
{%- endmacro %}

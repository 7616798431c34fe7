{#- The pipeline role may not create schemas (a schema named after a role would sit on that role's search_path,
    issue 11): `wardflow init` creates every schema the project builds into. dbt lists the schemas first and asks
    only for missing ones; this override turns such a request into an error that says what to do, instead of a
    bare "permission denied for database". -#}
{% macro postgres__create_schema(relation) -%}
  {%- call statement('create_schema') -%}
    do $$
    begin
      if not exists (select from pg_catalog.pg_namespace where nspname = '{{ relation.schema }}') then
        raise exception 'schema % does not exist: run `wardflow init` (the pipeline role cannot create schemas)',
          '{{ relation.schema }}';
      end if;
    end $$
  {%- endcall -%}
{% endmacro %}

-- Roles, schemas and the grants of DESIGN.md decision 7. Run by `wardflow init` as the database owner.
-- Idempotent. Role passwords are set by the caller (never written here).
create extension if not exists pgcrypto with schema public;

do $$
begin
  if not exists (select from pg_roles where rolname = 'wardflow_pipeline') then
    create role wardflow_pipeline login;
  end if;
  -- Connectors (listener, file ingest, inbox) log in as ingest: landing only, owner of nothing. The pipeline login
  -- owns what dbt builds, so whoever holds its password can attach a trigger that a keyed build runs: that
  -- password is kept beside the keys and never handed out (docs/keys.md).
  if not exists (select from pg_roles where rolname = 'wardflow_ingest') then
    create role wardflow_ingest login;
  end if;
  if not exists (select from pg_roles where rolname = 'wardflow_analyst') then
    create role wardflow_analyst login;
  end if;
  if not exists (select from pg_roles where rolname = 'wardflow_compliance') then
    create role wardflow_compliance login;
  end if;
  if not exists (select from pg_roles where rolname = 'wardflow_reader') then
    create role wardflow_reader login;  -- aggregates only
  end if;
  -- Re-contact / care team, purpose-bound: a group role with no login that nobody is a member of until an
  -- administrator grants it to a named person for a documented purpose (docs/compliance.md).
  if not exists (select from pg_roles where rolname = 'wardflow_recontact') then
    create role wardflow_recontact nologin;
  end if;
end $$;

-- Nobody but the three roles (and the owner) may connect; nobody may create in public.
do $$
begin
  execute format('revoke all on database %I from public', current_database());
  execute format('grant connect, temporary on database %I to wardflow_pipeline', current_database());
  execute format('grant connect, temporary on database %I to wardflow_ingest', current_database());
  execute format('grant connect on database %I to wardflow_analyst, wardflow_compliance, wardflow_reader, wardflow_recontact', current_database());
  -- No login role creates schemas: a schema named after another role (or "$user") would put its functions on
  -- that role's search_path (issue 11). dbt creates none either (macros/create_schema.sql): init makes them.
  execute format('revoke create on database %I from wardflow_pipeline, wardflow_ingest, wardflow_analyst, wardflow_compliance, wardflow_reader, wardflow_recontact',
                 current_database());
end $$;
-- No JIT for the pipeline: its statements spend their time in pgcrypto and jsonb calls that JIT cannot speed
-- up, and incremental builds filter on watermarks the planner cannot see, so JIT would compile (0.3-1 s each)
-- statements that read a few hundred rows (docs/performance.md, Transform).
do $$
begin
  execute format('alter role wardflow_pipeline in database %I set jit = off', current_database());
end $$;
revoke create on schema public from public;
grant usage on schema public to wardflow_pipeline;  -- pgcrypto lives in public
-- BI tools (Superset, Metabase, DBeaver) list the schemas a catalog query shows (information_schema.schemata,
-- pg_namespace filtered by has_schema_privilege): public would show there, empty, for every role. Only the roles
-- that call pgcrypto keep USAGE on it; each reading role then sees its own schema (plus pg_catalog and
-- information_schema), which is also its default search_path, so unqualified names work in those tools.
-- wardflow's own sessions override the search_path with the safe one at connection start.
revoke usage on schema public from public;
grant usage on schema public to wardflow_compliance;  -- audit verification calls pgcrypto's digest and hmac
do $$
begin
  execute format('alter role wardflow_analyst in database %I set search_path = analytics', current_database());
  execute format('alter role wardflow_reader in database %I set search_path = aggregates', current_database());
  execute format('alter role wardflow_recontact in database %I set search_path = recontact', current_database());
end $$;

-- Schemas belong to the database owner so that the pipeline can create (dbt) but never drop what it does
-- not own, such as the append-only audit.events.
create schema if not exists landing;
create schema if not exists vault;
create schema if not exists clinical;
create schema if not exists analytics;
create schema if not exists audit;
create schema if not exists aggregates;
create schema if not exists recontact;
grant usage, create on schema landing, vault, clinical, analytics, audit, aggregates, recontact to wardflow_pipeline;

-- Analysts: analytics only. Compliance: audit only. The release schemas (analytics, aggregates) get no default
-- privileges and no dbt grants: a table dbt builds there is readable only once publication grants it, after every
-- blocking check of its build passed (orchestration/publication.py); before writing into one, a build revokes it
-- (dbt pre-hook wardflow_close_release). Audit and recontact keep default privileges and dbt grants.
revoke all on schema landing, vault, clinical from wardflow_analyst, wardflow_compliance;
revoke all on schema vault, clinical, analytics, audit, aggregates, recontact from wardflow_ingest;
grant usage on schema audit to wardflow_ingest;  -- to call audit.record; it reads no audit table
revoke all on schema audit from wardflow_analyst;
revoke all on schema analytics from wardflow_compliance;
grant usage on schema analytics to wardflow_analyst;
grant usage on schema audit to wardflow_compliance;
alter default privileges for role wardflow_pipeline in schema analytics revoke select on tables from wardflow_analyst;
alter default privileges for role wardflow_pipeline in schema audit grant select on tables to wardflow_compliance;
alter default privileges for role wardflow_pipeline revoke execute on functions from public;
-- Reader: aggregates only (no row-level data, so small-cell suppression means something). Re-contact: the
-- display masks only. Neither reads analytics; the analyst reads neither.
revoke all on schema landing, vault, clinical, analytics, audit, recontact from wardflow_reader;
revoke all on schema landing, vault, clinical, analytics, audit, aggregates from wardflow_recontact;
revoke all on schema aggregates, recontact from wardflow_analyst, wardflow_compliance;
grant usage on schema aggregates to wardflow_reader;
grant usage on schema recontact to wardflow_recontact;
alter default privileges for role wardflow_pipeline in schema aggregates revoke select on tables from wardflow_reader;
alter default privileges for role wardflow_pipeline in schema recontact grant select on tables to wardflow_recontact;

-- How far each incremental model has read landing (dbt pre-/post-hooks, macros/incremental.sql).
create table if not exists vault.build_watermarks (
  model text not null,
  source text not null,
  high_water bigint not null,
  updated_at timestamptz not null default now(),
  primary key (model, source)
);
grant select, insert, update, delete on vault.build_watermarks to wardflow_pipeline;
-- Until 2026-12 a model's rows were keyed by its database-qualified name ("db"."schema"."table"), which a renamed
-- or cloned database no longer matched (every release row was then inserted again); now schema.table.
update vault.build_watermarks as w set model = regexp_replace(w.model, '^"[^"]*"\."([^"]*)"\."([^"]*)"$', '\1.\2')
where w.model ~ '^"[^"]*"\."[^"]*"\."[^"]*"$'
  and not exists (select from vault.build_watermarks as x
                  where x.source = w.source
                    and x.model = regexp_replace(w.model, '^"[^"]*"\."([^"]*)"\."([^"]*)"$', '\1.\2'));

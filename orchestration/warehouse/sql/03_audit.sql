-- Append-only audit events chained with a keyed MAC (DESIGN.md decision 10). Details never hold personal values.
-- event N's hash = HMAC-SHA256(audit key, hash of event N-1 || int8(N) || UTF-8 of
--   concat_ws(U+001F, occurred_at in UTC 'YYYY-MM-DD"T"HH24:MI:SS.US', actor, action, subject, details::text)).
-- The audit key is derived from the master key (connectors/crypto.py) and reaches a session only as the
-- setting wardflow.audit_key given at connection start: the database never stores it, so neither a login that
-- holds only a role password nor the database owner can recompute the chain after changing it. Events are
-- appended only through audit.record (no login role has a table privilege but compliance's SELECT), which sets
-- id, time and actor itself. orchestration/audit.py verifies the chain in Python, against the head anchored
-- outside the database (connectors/auditlog.py).
create table if not exists audit.events (
  event_id bigint primary key,           -- 1, 2, 3 … assigned by audit.record under a lock
  occurred_at timestamptz not null,
  actor text not null,                   -- session_user of the appending session
  action text not null,
  subject text not null default '',
  details jsonb not null default '{}'::jsonb,
  prev_hash bytea not null,
  hash bytea not null
);

create or replace function audit.refuse_change() returns trigger
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  raise exception 'audit.events is append-only';
end $$;

drop trigger if exists append_only on audit.events;
create trigger append_only before update or delete or truncate on audit.events
  for each statement execute function audit.refuse_change();

-- The chain MAC. Invoker rights, fixed search_path, every call qualified; callers pass exactly typed values so
-- that no overload in the audit schema (where the pipeline may create objects) can be a better match.
create or replace function audit.chain_mac(prev bytea, id bigint, at timestamptz, actor text, action text,
                                           subject text, details jsonb, key bytea) returns bytea
language sql immutable parallel safe set search_path = pg_catalog, pg_temp as $$
  select public.hmac(prev || pg_catalog.int8send(id) || pg_catalog.convert_to(pg_catalog.concat_ws(E'\x1f',
           pg_catalog.to_char(pg_catalog.timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US'), actor, action, subject,
           details::text), 'UTF8'), key, 'sha256')
$$;

create or replace function audit.session_audit_key() returns bytea
language plpgsql stable set search_path = pg_catalog, pg_temp as $$
declare value text := pg_catalog.current_setting('wardflow.audit_key', true);
begin
  if value is null or value = '' then
    raise exception 'wardflow audit key is not set in this session'
      using hint = 'append audit events through wardflow (it passes the audit key as a session option)';
  end if;
  return pg_catalog.decode(value, 'hex');
end $$;

-- The one way in. Definer rights (login roles have no INSERT), so: fixed search_path, qualified calls, and
-- actor from session_user (current_user is the definer here).
create or replace function audit.record(action text, subject text default '', details jsonb default '{}')
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  key bytea := audit.session_audit_key();
  at timestamptz := pg_catalog.clock_timestamp();
  who text := session_user;
  what text := coalesce($1, '');
  about text := coalesce($2, '');
  said jsonb := coalesce($3, '{}'::jsonb);
  -- the person behind the session (OS user or --operator, connectors/auditlog.py), beside the database role
  person text := nullif(pg_catalog.current_setting('wardflow.operator', true), '');  -- nullif is syntax, not a function
  last_id bigint;
  last_hash bytea;
begin
  if person is not null and pg_catalog.jsonb_typeof(said) = 'object' and not (said ? 'operator') then
    said := said || pg_catalog.jsonb_build_object('operator', person);
  end if;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('wardflow.audit.events'));
  select e.event_id, e.hash into last_id, last_hash from audit.events e order by e.event_id desc limit 1;
  last_id := coalesce(last_id, 0) + 1;
  last_hash := coalesce(last_hash, '\x00'::bytea);
  insert into audit.events (event_id, occurred_at, actor, action, subject, details, prev_hash, hash)
  values (last_id, at, who, what, about, said, last_hash,
          audit.chain_mac(last_hash, last_id, at, who, what, about, said, key));
  return last_id;
end $$;

-- The newest event (id and hash), for the anchor kept outside the database.
create or replace function audit.head(out event_id bigint, out hash bytea)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select e.event_id, e.hash from audit.events e order by e.event_id desc limit 1
$$;

-- Upgrade of a database initialised before the keyed chain (unkeyed SHA-256 chain filled by a trigger): the
-- trigger goes, ids stop coming from an identity, and the existing rows are sealed once with the audit key
-- (init holds it). Rows already altered before this upgrade cannot be told apart afterwards: the upgrade event
-- says how many legacy rows did not verify under the old scheme.
do $$
declare
  e record;
  key bytea;
  prev bytea := '\x00'::bytea;
  mac bytea;
  legacy_bad bigint := 0;
  legacy bigint := 0;
begin
  if not exists (select from pg_catalog.pg_trigger where tgrelid = 'audit.events'::regclass and tgname = 'chain') then
    return;
  end if;
  key := audit.session_audit_key();
  alter table audit.events disable trigger append_only;
  for e in select * from audit.events order by event_id loop
    legacy := legacy + 1;
    if e.hash is distinct from public.digest(e.prev_hash || pg_catalog.convert_to(pg_catalog.concat_ws(E'\x1f',
         pg_catalog.to_char(pg_catalog.timezone('UTC', e.occurred_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'), e.actor,
         e.action, e.subject, e.details::text), 'UTF8'), 'sha256') then
      legacy_bad := legacy_bad + 1;
    end if;
    mac := audit.chain_mac(prev, e.event_id, e.occurred_at, e.actor, e.action, e.subject, e.details, key);
    update audit.events set prev_hash = prev, hash = mac where event_id = e.event_id;
    prev := mac;
  end loop;
  alter table audit.events enable trigger append_only;
  drop trigger chain on audit.events;
  drop function if exists audit.chain_event();
  drop function if exists audit.event_hash(bytea, timestamptz, text, text, text, jsonb);
  alter table audit.events alter column event_id drop identity if exists;
  alter table audit.events alter column occurred_at drop default, alter column actor drop default;
  perform audit.record('audit.chain_keyed'::text, 'audit.events'::text,
                       pg_catalog.jsonb_build_object('legacy_events', legacy, 'legacy_unverified', legacy_bad));
end $$;

revoke all on audit.events from public, wardflow_pipeline, wardflow_ingest, wardflow_analyst, wardflow_compliance;
grant select on audit.events to wardflow_compliance;
revoke all on function audit.record(text, text, jsonb), audit.head(), audit.chain_mac(bytea, bigint, timestamptz,
  text, text, text, jsonb, bytea), audit.session_audit_key() from public;
grant execute on function audit.record(text, text, jsonb), audit.head() to wardflow_pipeline, wardflow_ingest;

-- orchestration/warehouse/sql/03_audit.sql as it was before the keyed chain (issue 11): the upgrade test replays it.
-- Hash-chained, append-only audit events (DESIGN.md decision 10). Each row stores the hash of the
-- previous one; `wardflow audit verify` recomputes the chain. Details never hold personal values.
create table if not exists audit.events (
  event_id bigint generated always as identity primary key,
  occurred_at timestamptz not null default clock_timestamp(),
  actor text not null default current_user,
  action text not null,
  subject text not null default '',
  details jsonb not null default '{}'::jsonb,
  prev_hash bytea not null,
  hash bytea not null
);

create or replace function audit.event_hash(prev bytea, occurred_at timestamptz, actor text, action text,
                                             subject text, details jsonb) returns bytea
language sql immutable parallel safe as $$
  select public.digest(prev || convert_to(concat_ws(E'\x1f', to_char(occurred_at at time zone 'UTC',
         'YYYY-MM-DD"T"HH24:MI:SS.US'), actor, action, subject, details::text), 'UTF8'), 'sha256')
$$;

create or replace function audit.chain_event() returns trigger
language plpgsql as $$
declare previous bytea;
begin
  perform pg_advisory_xact_lock(hashtext('wardflow.audit.events'));
  select e.hash into previous from audit.events e order by e.event_id desc limit 1;
  new.prev_hash := coalesce(previous, '\x00'::bytea);
  new.occurred_at := clock_timestamp();
  new.hash := audit.event_hash(new.prev_hash, new.occurred_at, new.actor, new.action, new.subject, new.details);
  return new;
end $$;

create or replace function audit.refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'audit.events is append-only';
end $$;

drop trigger if exists chain on audit.events;
create trigger chain before insert on audit.events for each row execute function audit.chain_event();
drop trigger if exists append_only on audit.events;
create trigger append_only before update or delete or truncate on audit.events
  for each statement execute function audit.refuse_change();

create or replace function audit.record(action text, subject text default '', details jsonb default '{}')
returns bigint language sql as $$
  insert into audit.events (action, subject, details, prev_hash, hash)
  values (action, subject, details, '\x00', '\x00') returning event_id
$$;

grant select on audit.events to wardflow_compliance;
grant select, insert on audit.events to wardflow_pipeline;
grant execute on function audit.record(text, text, jsonb) to wardflow_pipeline;

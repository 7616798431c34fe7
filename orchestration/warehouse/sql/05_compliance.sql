-- Compliance evidence tables (issue 16): who received what (sharing_log), what was deleted under which rule
-- (retention_log), who queried what (access_log), and the legal holds a purge honours. They hold ids, counts,
-- names of relations and columns, digests and the operator's name; never a data value. Owned by the database
-- owner: the pipeline appends (no update, no delete, except the retention purge of access_log), compliance reads.
create table if not exists audit.sharing_log (
  share_id bigint generated always as identity primary key,
  occurred_at timestamptz not null default now(),
  agreement text not null,
  recipient text not null default '',
  purpose text not null default '',
  status text not null,                    -- delivered | refused
  reason text not null default '',         -- why it was refused (one line, never a value)
  models text[] not null default '{}',
  columns text[] not null default '{}',
  row_count bigint not null default 0,
  file_sha256 text not null default '',    -- SHA-256 of the file as delivered (after encryption)
  file_format text not null default '',
  cipher text not null default '',         -- '' when not encrypted
  profile text not null default '',
  operator text not null,
  event_id bigint                          -- the audit event that records the same share
);

create table if not exists audit.retention_log (
  purge_id bigint generated always as identity primary key,
  run_id text not null,
  occurred_at timestamptz not null default now(),
  relation text not null,
  rule text not null,                      -- period, date column and legal basis of the rule applied
  action text not null,                    -- delete | keep_deidentified
  dry_run boolean not null,
  affected bigint not null,
  held bigint not null default 0,          -- rows past their period kept by a legal hold
  oldest timestamptz,
  newest timestamptz,
  keys_digest text not null default '',    -- SHA-256 over the sorted deleted keys (orchestration/retention.py)
  operator text not null,
  event_id bigint
);

create table if not exists audit.legal_holds (
  hold_id bigint generated always as identity primary key,
  relation text not null,                  -- schema.table the hold applies to
  batch_id uuid,                           -- rows of this ingest batch; null holds the whole relation
  reason text not null,                    -- case reference, never a patient's value
  placed_by text not null,
  placed_at timestamptz not null default now(),
  released_at timestamptz
);

create table if not exists audit.access_log (
  access_id bigint generated always as identity primary key,
  logged_at timestamptz not null,
  backend_pid int not null,
  role text not null,
  database text not null default '',
  command text not null default '',        -- SELECT, INSERT, … (the statement's kind)
  relations text[] not null default '{}',
  statement_shape text not null default '',-- the statement with every literal replaced by ?
  shape_sha256 text not null,
  constraint access_log_once unique (logged_at, backend_pid, shape_sha256)
);
create index if not exists access_log_at on audit.access_log (logged_at);

revoke all on audit.sharing_log, audit.retention_log, audit.legal_holds, audit.access_log
  from public, wardflow_analyst, wardflow_reader;
grant select, insert on audit.sharing_log, audit.retention_log, audit.legal_holds, audit.access_log to wardflow_pipeline;
grant update (released_at) on audit.legal_holds to wardflow_pipeline;
grant delete on audit.access_log to wardflow_pipeline;  -- its own retention rule (never below the audit floor)
grant select on audit.sharing_log, audit.retention_log, audit.legal_holds, audit.access_log to wardflow_compliance;

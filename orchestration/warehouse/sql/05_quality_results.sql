-- Quality results (expectations/results.py): one row per expectation, run and group (a sender or another
-- non-personal group), counts and rates only; sample rows only as keyed hashes of their technical row keys.
-- Written by the pipeline role; read by compliance (no personal value in any column).
create table if not exists audit.quality_results (
  result_id bigint generated always as identity primary key,
  checked_at timestamptz not null default now(),
  run_id text not null,                    -- Dagster run id, or cli:<uuid> for `wardflow check`
  suite text not null,
  expectation text not null,
  asset text not null,                     -- schema.table validated
  severity text not null check (severity in ('blocking', 'warning')),
  success boolean not null,                -- the expectation's verdict over every group
  sender text,                             -- the group: MSH-3|MSH-4, a source kind, a ward; null when none
  unexpected bigint not null,
  total bigint not null,
  allowed bigint not null,
  unexpected_rate double precision,        -- unexpected / total; null when total is 0
  row_key_hashes text[] not null default '{}'
);
create index if not exists quality_results_run on audit.quality_results (run_id);
revoke all on audit.quality_results from public;
grant select, insert on audit.quality_results to wardflow_pipeline;
grant select on audit.quality_results to wardflow_compliance;

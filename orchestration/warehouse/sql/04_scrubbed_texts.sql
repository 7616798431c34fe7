-- Free text scrubbed by the Python scrubber (deid/, run by the Dagster asset clinical/scrubbed_texts): one row
-- per text of vault.vault_texts. Written by the pipeline role only; analytics reads it through dbt models.
create table if not exists clinical.scrubbed_texts (
  text_key text primary key,
  text_kind text not null,
  patient_key text,
  scrubbed_text text,
  status text not null check (status in ('scrubbed', 'withheld')),
  withheld_reason text check (withheld_reason in ('error', 'timeout', 'too_long')),
  scrubber_version text not null,
  known_mark text,
  scrubbed_at timestamptz not null default now(),
  check ((status = 'scrubbed') = (scrubbed_text is not null))
);
grant select, insert, update, delete on clinical.scrubbed_texts to wardflow_pipeline;
revoke all on clinical.scrubbed_texts from wardflow_analyst, wardflow_compliance;

-- Canary patients (orchestration/canaries.py): the generated values sealed with the payload key, and the
-- keyed hashes of their identifiers, so that clinical.patient_k_anonymity can leave them out. Marked here
-- only: nothing in landing, clinical or analytics says that a patient is a canary. Pipeline role only.
create table if not exists vault.canaries (
  planted_at timestamptz not null default now(),
  doc bytea not null,                 -- vault.encrypt_text of the JSON canary set
  key_version int not null,
  id_keys text[] not null             -- vault.pseudonym('cn-resident-id|' || upper(resident id)), as patient_identifiers.id_key
);
revoke all on vault.canaries from public;
grant select, insert, delete on vault.canaries to wardflow_pipeline;

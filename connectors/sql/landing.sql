-- Landing tables: every message exactly as received, encrypted (connectors/crypto.py layout), with plaintext
-- routing columns that carry no personal data. Owned by the database owner; the pipeline role may write.
create table if not exists landing.ingest_batches (
  batch_id uuid primary key,
  source_kind text not null,               -- file | mllp | replay | rest
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  inputs int not null default 0,           -- files or connections
  landed int not null default 0,
  duplicates int not null default 0,
  rejected int not null default 0,
  bytes bigint not null default 0
);

create table if not exists landing.hl7_messages (
  message_id bigint generated always as identity primary key,
  batch_id uuid,
  received_at timestamptz not null default now(),
  source_kind text not null,
  sender text not null,                    -- MSH-3 | MSH-4 (system identity, not a person)
  receiver text not null default '',       -- MSH-5 | MSH-6
  message_type text not null,              -- MSH-9.1
  trigger_event text not null default '',  -- MSH-9.2
  message_structure text not null default '',
  control_id text not null,                -- MSH-10
  version text not null default '',        -- MSH-12
  charset text not null default 'utf-8',
  payload_bytes int not null,
  content_hmac bytea not null,             -- keyed fingerprint of the raw bytes (dedup)
  control_id_reused boolean not null default false,
  key_version int not null,
  payload bytea not null,                  -- encrypted raw message bytes (lossless)
  doc bytea,                               -- encrypted JSON document (segments/fields) read by staging; null
                                           -- when landing.hl7_segments(payload) builds it (most messages)
  constraint hl7_messages_dedup unique (sender, control_id, content_hmac)
);
create index if not exists hl7_messages_received on landing.hl7_messages (received_at);
create index if not exists hl7_messages_key_version on landing.hl7_messages (key_version);

create table if not exists landing.fhir_resources (
  resource_row_id bigint generated always as identity primary key,
  batch_id uuid,
  received_at timestamptz not null default now(),
  source_kind text not null,
  resource_type text not null,
  resource_key bytea,                      -- keyed fingerprint of type/id (ids can be MRNs)
  version_id text,
  bundle_type text,
  payload_bytes int not null,
  content_hmac bytea not null,
  key_version int not null,
  payload bytea not null,                  -- encrypted resource JSON
  constraint fhir_resources_dedup unique (resource_type, content_hmac)
);
create index if not exists fhir_resources_received on landing.fhir_resources (received_at);
create index if not exists fhir_resources_key_version on landing.fhir_resources (key_version);

create table if not exists landing.rejected (
  rejected_id bigint generated always as identity primary key,
  batch_id uuid,
  received_at timestamptz not null default now(),
  source_kind text not null,
  format text not null,                    -- hl7v2 | fhir | unknown
  rule text not null,                      -- machine rule id, e.g. msh.control_id.required
  field_path text not null default '',     -- e.g. MSH-10, Observation.status, line 17
  error_code text not null default '',     -- HL7 table 0357 code where it applies
  reason text not null,                    -- human sentence naming field and rule, never the value
  payload_bytes int not null,
  content_hmac bytea not null,
  key_version int not null,
  payload bytea not null,                  -- encrypted offending bytes
  status text not null default 'open',     -- open | replayed | discarded
  resolved_at timestamptz,
  constraint rejected_dedup unique (content_hmac, rule)
);

-- Older databases: the document was always stored. Checked first so that a re-init takes no table lock.
do $$
begin
  if exists (select from pg_attribute where attrelid = 'landing.hl7_messages'::regclass and attname = 'doc'
             and attnotnull) then
    alter table landing.hl7_messages alter column doc drop not null;
  end if;
end $$;

-- The segments of a message's document (connectors/hl7/parse.py: Hl7Message.doc()["segments"]) from its
-- decrypted bytes, for the messages the connector lands without a document (Hl7Message.sql_document: UTF-8,
-- delimiters |^~\&, no escape sequence, no blank before or after a segment, no NUL or SOH). The same steps as the
-- connector's fast path: segment endings to CR, trailing field separators and blank lines dropped, the text
-- JSON-quoted and its delimiters replaced by JSON punctuation. With `wanted`, the document keeps MSH and the
-- segments with those ids, in order (staging models that read a few small segments build only those).
-- tests/integration/test_hl7_sql_document.py compares the result with the connector's.
create or replace function landing.hl7_segments(plain bytea, wanted text[]) returns jsonb
language plpgsql stable parallel safe as $$
declare
  t text := convert_from(plain, 'UTF8');
  lines text[];
  enc text;
  j text;
begin
  if plain is null then
    return null;
  end if;
  if left(t, 1) = U&'\FEFF' then
    t := substr(t, 2);
  end if;
  lines := array(select l from unnest(string_to_array(replace(replace(ltrim(t, E' \t\r\n'), E'\r\n', E'\r'),
                                                              E'\n', E'\r'), E'\r')) as s, rtrim(s, '|') as l
                 where l <> '');
  enc := split_part(lines[1], '|', 2);  -- MSH-2, the encoding characters
  -- MSH-3 onwards, then each segment with SOH for the separator after its id, as one JSON string.
  j := to_json(concat_ws(E'\r', substr(lines[1], length(enc) + 6),
                         nullif(array_to_string(array(select left(l, 3) || E'\x01' || substr(l, 5)
                                                      from unnest(lines[2:]) as l
                                                      where wanted is null or left(l, 3) = any(wanted)), E'\r'), '')))::text;
  return ('[["MSH",[[["|"]]],[[[' || to_json(enc)::text || ']]],'
          || replace(replace(replace(replace('[[["' || replace(replace(replace(substr(j, 2, length(j) - 2),
               '\r', '"]]]],["'), '\u0001', '",[[["'), '|', '"]]],[[["'),
               '[[[""]]]', '[]'), '~', '"]],[["'), '^', '"],["'), '&', '","')
          || '"]]]]]')::jsonb;
end $$;

create or replace function landing.hl7_segments(plain bytea) returns jsonb
language sql stable strict parallel safe as $$ select landing.hl7_segments(plain, null) $$;

-- Ciphertext does not compress: store it out of line without a compression attempt (PostgreSQL would run
-- pglz over every payload and give up). Checked first so that a re-init takes no table lock.
do $$
declare
  col record;
begin
  for col in select a.attrelid::regclass as tbl, a.attname from pg_attribute a
             where a.attrelid in ('landing.hl7_messages'::regclass, 'landing.fhir_resources'::regclass,
                                  'landing.rejected'::regclass)
               and a.attname in ('payload', 'doc') and a.attstorage <> 'e' loop
    execute format('alter table %s alter column %I set storage external', col.tbl, col.attname);
  end loop;
end $$;

-- A message row (~2.3 KB for a 2 KB message; ~6 KB where the sealed document is stored too) is kept whole in
-- its heap page. At the default target (~2 KB) PostgreSQL would cut its ciphertexts into TOAST chunks, each one
-- more heap tuple and one more TOAST index entry to write at landing and to look up at every staging read.
-- Rows over a page (large messages) still go out of line.
do $$
begin
  if not exists (select from pg_class where oid = 'landing.hl7_messages'::regclass
                 and 'toast_tuple_target=8160' = any(coalesce(reloptions, '{}'))) then
    alter table landing.hl7_messages set (toast_tuple_target = 8160);
  end if;
end $$;

grant usage on schema landing to wardflow_pipeline;
grant select, insert, update, delete on all tables in schema landing to wardflow_pipeline;
-- The connectors' login writes landing and owns none of it (no trigger, rule or default of its own can run in a
-- keyed build); it deletes nothing (rejected input is closed by status, purged by retention).
grant usage on schema landing to wardflow_ingest;
grant select, insert, update on all tables in schema landing to wardflow_ingest;

-- Client certificates allowed over mutual TLS (`wardflow devices`); sender: allowed MSH-3 or MSH-3|MSH-4 as HDs.
create table if not exists landing.device_registry (
  cert_fingerprint_sha256 text primary key,
  cert_subject text not null default '',
  device_name text not null,
  sender text not null default '',
  active boolean not null default true,
  registered_at timestamptz not null default now()
);
grant select, insert, update on landing.device_registry to wardflow_pipeline, wardflow_ingest;

-- Quarantine (orchestration/quarantine.py): the landed rows above the given ids that staging could not read
-- (decryption, UTF-8, JSON, the document's shape), each with the SQLSTATE of its error and never its text. Run
-- only after a failed build, by a keyed session: one subtransaction per row is slow, and only then worth it.
create or replace function landing.unreadable_rows(hl7_since bigint, fhir_since bigint)
returns table (source text, row_id bigint, error_state text)
language plpgsql volatile set search_path = pg_catalog, pg_temp as $$
declare
  r record;
begin
  for r in select m.message_id as id, m.payload, m.doc, m.key_version from landing.hl7_messages m
           where m.message_id > hl7_since order by m.message_id loop
    begin
      perform jsonb_array_length(case when r.doc is null
                                      then landing.hl7_segments(vault.decrypt(r.payload, r.key_version))
                                      else convert_from(vault.decrypt(r.doc, r.key_version), 'UTF8')::jsonb
                                           -> 'segments' end);
    exception when others then
      source := 'hl7'; row_id := r.id; error_state := SQLSTATE;
      return next;
    end;
  end loop;
  for r in select f.resource_row_id as id, f.payload, f.key_version from landing.fhir_resources f
           where f.resource_row_id > fhir_since order by f.resource_row_id loop
    begin
      perform jsonb_typeof(convert_from(vault.decrypt(r.payload, r.key_version), 'UTF8')::jsonb -> 'resource');
    exception when others then
      source := 'fhir'; row_id := r.id; error_state := SQLSTATE;
      return next;
    end;
  end loop;
end $$;

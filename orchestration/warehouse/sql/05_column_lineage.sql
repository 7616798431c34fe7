-- Column lineage (orchestration/lineage.py): one row per column of every dbt model, seed and source, with the
-- columns it is computed from, the source field it was extracted from (HL7 PID-5, FHIR Patient.name …),
-- its declared classification and the classification it inherits along its inputs. Declarations and names
-- only, never a data value: wardflow_compliance reads it, the pipeline rewrites it after each build.
create table if not exists audit.column_lineage (
  relation text not null,              -- layer.model (staging and intermediate are never stored)
  column_name text not null,
  layer text not null,
  materialization text not null,
  category text not null default '',
  level int not null default 0,
  identifier text not null default '',
  treatment text not null default '',
  source_field text,                   -- set where staging extracts a field of the message or resource
  upstream text[] not null default '{}',   -- relation.column of each input column
  inherited_level int not null default 0,  -- highest level reaching this column untreated (incl. its own)
  inherited_identifier text not null default '',
  untreated_from text[] not null default '{}',  -- direct / level >= 4 columns reaching it with no treatment
  release boolean not null default false,       -- read by wardflow_analyst, wardflow_reader or a recipient
  resolved boolean not null default true,  -- false: the model's SQL could not be analysed
  computed_at timestamptz not null default now(),
  primary key (relation, column_name)
);
grant select, insert, update, delete on audit.column_lineage to wardflow_pipeline;
grant select on audit.column_lineage to wardflow_compliance;
revoke all on audit.column_lineage from wardflow_analyst, wardflow_reader;

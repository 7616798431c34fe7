-- Resource limits per login role (docs/database.md, "Limits per role"). Idempotent. Whatever the owner/admin
-- connection may not change is reported as a WARNING naming the limit (init shows it), never an error: a
-- user-supplied WARDFLOW_DATABASE_URL need not be a superuser.

-- Connection slots: analysts and compliance cannot take the slots ingest, the listener and dbt need.
-- Timeouts are role defaults (a session may still SET its own; the connection limit cannot be changed by it).
do $$
declare
  statement text;
begin
  foreach statement in array array[
    'alter role wardflow_analyst connection limit 20',
    'alter role wardflow_compliance connection limit 5',
    'alter role wardflow_reader connection limit 20',
    'alter role wardflow_pipeline connection limit 64',
    'alter role wardflow_ingest connection limit 32',
    'alter role wardflow_analyst set statement_timeout = ''5min''',
    'alter role wardflow_analyst set idle_in_transaction_session_timeout = ''2min''',
    'alter role wardflow_compliance set statement_timeout = ''5min''',
    'alter role wardflow_reader set statement_timeout = ''5min''',
    'alter role wardflow_reader set idle_in_transaction_session_timeout = ''2min''',
    'alter role wardflow_compliance set idle_in_transaction_session_timeout = ''2min''',
    'alter role wardflow_analyst set temp_file_limit = ''1GB'''  -- a superuser-only setting
  ] loop
    begin  -- one at a time: a refused one must not undo the others
      execute statement;
    exception when insufficient_privilege then
      raise warning 'wardflow: could not run "%" (%); a superuser can', statement, sqlerrm;
    end;
  end loop;
end $$;

-- Large objects live outside every schema and grant: no login role may create them.
do $$
declare
  fn regprocedure;
begin
  foreach fn in array array['pg_catalog.lo_create(oid)', 'pg_catalog.lo_creat(integer)',
                            'pg_catalog.lo_from_bytea(oid, bytea)', 'pg_catalog.lo_import(text)',
                            'pg_catalog.lo_import(text, oid)']::regprocedure[] loop
    begin
      execute format('revoke execute on function %s from public', fn);
    exception when insufficient_privilege then
      null;  -- not a superuser: the check below says so
    end;
  end loop;
  if pg_catalog.has_function_privilege('wardflow_analyst', 'pg_catalog.lo_create(oid)', 'execute') then
    raise warning 'wardflow: login roles can still create large objects (the owner connection cannot revoke '
                  'EXECUTE on pg_catalog.lo_create from PUBLIC; a superuser can)';
  end if;
end $$;

-- The maintenance databases, on a server wardflow runs itself (the embedded cluster) or when the owner asks for it
-- (`wardflow init --lock-maintenance-databases`): revoking from PUBLIC changes them for every user of the server,
-- which on a shared server is the DBA's decision (docs/database.md).
-- The maintenance databases: no CONNECT or TEMPORARY for anyone but superusers (PUBLIC holds both by default;
-- privileges granted to PUBLIC cannot be revoked from one role alone).
do $$
declare
  db text;
begin
  foreach db in array array['postgres', 'template1'] loop
    if exists (select from pg_catalog.pg_database where datname = db) then
      begin
        execute format('revoke connect, temporary on database %I from public', db);
      exception when insufficient_privilege then
        null;  -- neither its owner nor a superuser: the check below says so
      end;
      if pg_catalog.has_database_privilege('wardflow_analyst', db, 'connect') then
        raise warning 'wardflow: the wardflow roles can still connect to database % (only its owner or a superuser '
                      'can revoke CONNECT from PUBLIC)', db;
      end if;
    end if;
  end loop;
end $$;

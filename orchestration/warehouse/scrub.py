"""SQL functions for free-text scrubbing, generated from the one set of detectors in connectors/privacy.

`vault.scrub_patterns(text)` replaces every detector match by its tag; `vault.scrub_text(text, known)`
first replaces the patient's own known identifiers (a jsonb object value → tag, longest first) and then
applies the patterns. Both run at build time, in the pipeline role, on plaintext in flight.
"""

from __future__ import annotations

from connectors.privacy.sql import scrub_expression


def scrub_functions_sql() -> str:
    return f"""
create or replace function vault.scrub_patterns(t text) returns text
language sql immutable parallel safe as $fn$ select {scrub_expression('t')} $fn$;

create or replace function vault.scrub_text(t text, known jsonb) returns text
language plpgsql immutable parallel safe as $fn$
declare
  item record;
  result text := t;
begin
  if result is null then
    return null;
  end if;
  for item in
    select key, value #>> '{{}}' as tag from jsonb_each(coalesce(known, '{{}}'::jsonb))
    where char_length(key) >= 2 order by char_length(key) desc, key
  loop
    result := replace(result, item.key, item.tag);
  end loop;
  return vault.scrub_patterns(result);
end $fn$;

revoke all on function vault.scrub_patterns(text), vault.scrub_text(text, jsonb) from public;
grant execute on function vault.scrub_patterns(text), vault.scrub_text(text, jsonb) to wardflow_pipeline;
"""

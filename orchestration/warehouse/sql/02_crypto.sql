-- SQL twins of connectors/crypto.py. Keys come only from session settings given at connection start
-- (libpq options / PGOPTIONS): wardflow.enc_v<N>, wardflow.mac_v<N>, wardflow.key_current,
-- wardflow.pseudonym_key, wardflow.dateshift_key. A session without them cannot decrypt: fail closed.
-- Functions are LANGUAGE sql and STABLE so the planner inlines them.

create or replace function vault.session_key(name text) returns bytea
language plpgsql stable parallel safe as $$
declare value text := current_setting('wardflow.' || name, true);
begin
  if value is null or value = '' then
    raise exception 'wardflow key "%" is not set in this session', name
      using hint = 'connect through wardflow (it passes keys as session options)';
  end if;
  return decode(value, 'hex');
end $$;

-- stable, not immutable: an immutable function with constant arguments would be folded (and raise) at plan time
create or replace function vault.integrity_error(version int) returns bytea
language plpgsql stable parallel safe as $$
begin
  raise exception 'ciphertext does not verify with key version %', version using errcode = 'data_corrupted';
end $$;

create or replace function vault.current_key_version() returns int
language sql stable parallel safe as $$
  select coalesce(nullif(current_setting('wardflow.key_current', true), ''), '0')::int
$$;

create or replace function vault.decrypt(blob bytea, version int) returns bytea
language sql stable parallel safe as $$
  select case
    when blob is null then null
    when public.hmac(int4send(version) || substring(blob from 1 for length(blob) - 32),
                     vault.session_key('mac_v' || version), 'sha256') = substring(blob from length(blob) - 31)
    then public.decrypt_iv(substring(blob from 17 for length(blob) - 48),
                           vault.session_key('enc_v' || version), substring(blob from 1 for 16), 'aes-cbc/pad:pkcs')
    else vault.integrity_error(version)
  end
$$;

create or replace function vault.decrypt_text(blob bytea, version int) returns text
language sql stable parallel safe as $$ select convert_from(vault.decrypt(blob, version), 'UTF8') $$;

create or replace function vault.seal(iv bytea, body bytea, version int) returns bytea
language sql stable parallel safe as $$
  select iv || body || public.hmac(int4send(version) || iv || body, vault.session_key('mac_v' || version), 'sha256')
$$;

-- Encrypt with the current key version (random IV per value). Store vault.current_key_version() beside it.
-- Parallel unsafe: volatile (random IV), and PostgreSQL refuses to run it inside parallel workers.
create or replace function vault.encrypt(plain bytea) returns bytea
language sql volatile parallel unsafe as $$
  select case when plain is null then null else (
    select vault.seal(iv, public.encrypt_iv(plain, vault.session_key('enc_v' || v), iv, 'aes-cbc/pad:pkcs'), v)
    from (select public.gen_random_bytes(16) as iv, vault.current_key_version() as v) k) end
$$;

create or replace function vault.encrypt_text(plain text) returns bytea
language sql volatile parallel unsafe as $$ select vault.encrypt(convert_to(plain, 'UTF8')) $$;

-- Keyed pseudonym: 32 lowercase hex characters of HMAC-SHA256(pseudonym key, canonical identifier).
create or replace function vault.pseudonym(canonical text) returns text
language sql stable parallel safe as $$
  select case when canonical is null then null
    else left(encode(public.hmac(convert_to(canonical, 'UTF8'), vault.session_key('pseudonym_key'), 'sha256'), 'hex'), 32) end
$$;

-- Per-patient date shift in days, a whole number of weeks in [-52, -1] ∪ [1, 52] (so ±7 … ±364 days),
-- derived from the pseudonym. Whole weeks keep the weekday: a weekly pattern (dialysis Mon/Wed/Fri) then
-- says nothing about the offset, where a shift in days would be known modulo 7 from it.
create or replace function vault.date_shift_days(patient_key text) returns int
language sql stable parallel safe as $$
  select case when patient_key is null then null else (
    select 7 * case when n % 104 < 52 then -(n % 104) - 1 else (n % 104) - 51 end
    from (select ('x' || left(encode(public.hmac(convert_to(patient_key, 'UTF8'),
                 vault.session_key('dateshift_key'), 'sha256'), 'hex'), 7))::bit(28)::int as n) h) end
$$;

revoke all on all functions in schema vault from public;
grant execute on all functions in schema vault to wardflow_pipeline;

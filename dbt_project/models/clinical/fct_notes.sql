-- One row per free-text note, scrubbed at build time: the patient's own known identifiers and those of
-- the people around them are replaced by tags, then the pattern detectors run (vault.scrub_text).
select
    {{ wardflow_columns() }}
from {{ ref('int_notes_unified') }}

-- One row per free-text note with its time shifted; the text comes scrubbed from clinical.scrubbed_texts
-- (the Python scrubber asset), null while it is withheld or not yet scrubbed: it fails closed.
select
    {{ wardflow_columns() }}
from {{ ref('fct_notes') }} as n
join {{ ref('dim_patients') }} as p using (patient_key)
join {{ ref('patient_k_anonymity') }} as k using (patient_key)
left join {{ source('clinical', 'scrubbed_texts') }} as s on s.text_key = 'note:' || n.note_key
where not k.suppressed

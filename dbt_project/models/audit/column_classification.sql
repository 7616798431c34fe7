-- One row per declared column of every source, seed and model: the classification an auditor reads
-- (GB/T 39725 category and level, identifier kind, HIPAA identifier, treatment), from config.meta.privacy.
{{ wardflow_classification_rows() }}

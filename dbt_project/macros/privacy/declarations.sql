{#- The one privacy vocabulary (DESIGN.md decision 5): var privacy_policy in dbt_project.yml, which Python
    reads too (orchestration/catalog.py). -#}
{% macro wardflow_privacy_vocabulary() -%}
  {{ return(var("privacy_policy")["vocabulary"]) }}
{%- endmacro %}

{% macro wardflow_column_privacy(column) -%}
  {%- set cfg = column.get("config") or {} -%}
  {%- set meta = (cfg.get("meta") or {}) if cfg is mapping else {} -%}
  {{ return(meta.get("privacy") or (column.get("meta") or {}).get("privacy")) }}
{%- endmacro %}

{#- Problems with one column's declaration, as sentences naming the column and the rule. -#}
{% macro wardflow_privacy_problems(where, column_name, privacy, layer) -%}
  {%- set vocab = wardflow_privacy_vocabulary() -%}
  {%- set problems = [] -%}
  {%- if privacy is not mapping -%}
    {%- do problems.append(where ~ "." ~ column_name ~ ": no config.meta.privacy (rule privacy.declared)") -%}
  {%- else -%}
    {%- for key in ["category", "level", "identifier", "hipaa", "treatment"] -%}
      {%- if privacy.get(key) not in vocab[key] -%}
        {%- do problems.append(where ~ "." ~ column_name ~ ": privacy." ~ key ~ " missing or not one of "
              ~ vocab[key] | join(", ") ~ " (rule privacy." ~ key ~ ")") -%}
      {%- endif -%}
    {%- endfor -%}
    {%- set policy = var("privacy_policy")["direct_identifiers"].get(layer) -%}
    {%- if policy and privacy.get("identifier") == "direct" and privacy.get("treatment") not in policy["allowed"] -%}
      {%- if policy["allowed"] -%}
        {%- do problems.append(where ~ "." ~ column_name ~ ": a direct identifier in " ~ layer ~ " must be "
              ~ policy["allowed"] | join(" or ") ~ " (rule " ~ policy["rule"] ~ ")") -%}
      {%- else -%}
        {#- What the analyst and the reader can read holds no direct identifier at all, not even masked: a mask
            keeps parts (surname, area code, sex digit) that joined by patient_key undo k-anonymity. -#}
        {%- do problems.append(where ~ "." ~ column_name ~ ": a direct identifier, masked or not, cannot be in "
              ~ layer ~ " (rule " ~ policy["rule"] ~ ")") -%}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(problems) }}
{%- endmacro %}

{#- on-run-start: refuse to build when any column of any model, seed or source lacks a valid declaration. -#}
{% macro wardflow_assert_privacy_declared() -%}
  {%- if execute -%}
    {%- set problems = [] -%}
    {%- for node in graph.nodes.values() if node.package_name == project_name
          and node.resource_type in ["model", "seed", "snapshot"] -%}
      {%- set layer = node.fqn[1] if node.fqn | length > 2 else "" -%}
      {%- if not node.columns -%}
        {%- do problems.append(node.name ~ ": declares no columns (rule privacy.declared)") -%}
      {%- endif -%}
      {%- for column in node.columns.values() -%}
        {%- do problems.extend(wardflow_privacy_problems(node.name, column.name, wardflow_column_privacy(column), layer)) -%}
      {%- endfor -%}
    {%- endfor -%}
    {%- for source in graph.sources.values() if source.package_name == project_name -%}
      {%- if not source.columns -%}
        {%- do problems.append(source.source_name ~ "." ~ source.name ~ ": declares no columns (rule privacy.declared)") -%}
      {%- endif -%}
      {%- for column in source.columns.values() -%}
        {%- do problems.extend(wardflow_privacy_problems(source.source_name ~ "." ~ source.name, column.name,
              wardflow_column_privacy(column), "landing")) -%}
      {%- endfor -%}
    {%- endfor -%}
    {%- if problems -%}
      {{ exceptions.raise_compiler_error("Privacy declarations incomplete (deny by default):\n  - " ~ problems | join("\n  - ")) }}
    {%- endif -%}
  {%- endif -%}
  select 1
{%- endmacro %}

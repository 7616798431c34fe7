"""Which legal obligations each section of the compliance report evidences (PIPL, Data Security Law,
Cybersecurity Law, GB/T 39725-2020, HIPAA). Report content only: the privacy rules themselves live in the dbt
declarations. An auditor reads these as pointers; the report says what the evidence covers and what it does not.
"""

from __future__ import annotations

PIPL, DSL, CSL, GBT, HIPAA = "PIPL", "Data Security Law", "Cybersecurity Law", "GB/T 39725-2020", "HIPAA"

OBLIGATIONS: dict[str, list[tuple[str, str, str]]] = {
    "inventory": [
        (PIPL, "Art. 51(2)", "classify personal information and manage it by class"),
        (PIPL, "Art. 28", "medical health information is sensitive personal information"),
        (DSL, "Art. 21", "classified and graded protection of data"),
        (CSL, "Art. 21(4)", "data classification, backup and encryption"),
        (GBT, "categories and levels", "six health-data categories, five sensitivity levels"),
        (HIPAA, "45 CFR 164.308(a)(1)(ii)(A)", "risk analysis: know where ePHI is"),
    ],
    "classification": [
        (PIPL, "Art. 51(3)", "encryption, de-identification and other technical measures"),
        (PIPL, "Art. 73(3)", "de-identification: not identifiable without additional information"),
        (DSL, "Art. 27", "technical measures to secure data processing"),
        (GBT, "de-identification by level", "treatment proportionate to the level of each data item"),
        (HIPAA, "45 CFR 164.514(b)(2)", "Safe Harbor: the 18 identifiers removed"),
        (HIPAA, "45 CFR 164.312(a)(2)(iv)", "encryption and decryption"),
    ],
    "checks": [
        (PIPL, "Art. 51", "measures that ensure processing complies with law"),
        (DSL, "Art. 29", "monitor risks, remediate defects"),
        (CSL, "Art. 21", "technical measures against data leaks"),
        (HIPAA, "45 CFR 164.308(a)(8)", "periodic technical evaluation"),
    ],
    "k_anonymity": [
        (PIPL, "Art. 73(4)", "anonymization: not identifiable and not restorable"),
        (CSL, "Art. 42", "personal information given to others only when it cannot identify a person"),
        (GBT, "release of de-identified data", "assessment of re-identification risk (with GB/T 42460-2023)"),
        (HIPAA, "45 CFR 164.514(b)(1)", "evidence towards an expert determination of very small risk"),
    ],
    "sharing": [
        (PIPL, "Art. 23", "providing personal information to another handler: purpose, recipient, consent"),
        (PIPL, "Art. 55-56", "impact assessment before providing personal information to others"),
        (DSL, "Art. 27", "security of data provided to others"),
        (HIPAA, "45 CFR 164.528", "accounting of disclosures"),
        (HIPAA, "45 CFR 164.514(e)", "data use agreements"),
    ],
    "retention": [
        (PIPL, "Art. 19", "retention for the shortest period necessary"),
        (PIPL, "Art. 47", "deletion when the period expires"),
        (CSL, "Art. 21(3)", "network logs kept at least six months"),
        (HIPAA, "45 CFR 164.310(d)(2)(i)", "disposal of ePHI"),
        (HIPAA, "45 CFR 164.316(b)(2)(i)", "documentation retained six years"),
    ],
    "keys": [
        (PIPL, "Art. 51(3)", "encryption"),
        (CSL, "Art. 21(4)", "encryption of important data"),
        (DSL, "Art. 27", "technical security measures"),
        (HIPAA, "45 CFR 164.312(a)(2)(iv)", "encryption and decryption"),
    ],
    "access": [
        (CSL, "Art. 21(3)", "monitor and record network and data access"),
        (PIPL, "Art. 51(3)", "operating permissions of personnel"),
        (PIPL, "Art. 54", "regular compliance audits"),
        (HIPAA, "45 CFR 164.312(b)", "audit controls"),
    ],
    "audit_chain": [
        (CSL, "Art. 21(3)", "logs kept intact at least six months"),
        (DSL, "Art. 27", "data security management"),
        (PIPL, "Art. 54", "compliance audits"),
        (HIPAA, "45 CFR 164.312(b)", "audit controls"),
        (HIPAA, "45 CFR 164.312(c)(1)", "integrity: protect against improper alteration"),
    ],
}


def obligations(section: str) -> list[dict[str, str]]:
    return [{"law": law, "provision": provision, "duty": duty} for law, provision, duty in OBLIGATIONS[section]]

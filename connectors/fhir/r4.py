"""FHIR R4 (4.0.1) facts the reader needs without importing fhir.resources: names, codes, formats."""

from __future__ import annotations

import re

# The 146 concrete resource types of FHIR R4 4.0.1 (abstract Resource and DomainResource excluded).
R4_RESOURCE_TYPES: frozenset[str] = frozenset(
    """
    Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent
    Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement CarePlan CareTeam
    CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem
    Communication CommunicationRequest CompartmentDefinition Composition ConceptMap Condition Consent
    Contract Coverage CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device
    DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest
    DocumentReference EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest EnrollmentResponse
    EpisodeOfCare EventDefinition Evidence EvidenceVariable ExampleScenario ExplanationOfBenefit
    FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy
    Immunization ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan
    Invoice Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration
    MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct
    MedicinalProductAuthorization MedicinalProductContraindication MedicinalProductIndication
    MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
    MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
    MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
    ObservationDefinition OperationDefinition OperationOutcome Organization OrganizationAffiliation
    Parameters Patient PaymentNotice PaymentReconciliation Person PlanDefinition Practitioner
    PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson RequestGroup
    ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment
    RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition
    StructureDefinition StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer
    SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification
    SupplyDelivery SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet
    VerificationResult VisionPrescription
    """.split()
)

# R4 Bundle.type codes (http://hl7.org/fhir/R4/valueset-bundle-type.html).
R4_BUNDLE_TYPES: frozenset[str] = frozenset(
    "document message transaction transaction-response batch batch-response history searchset collection".split()
)

# Elements allowed in R4 Bundle.entry; anything else means the entry is malformed.
BUNDLE_ENTRY_ELEMENTS: frozenset[str] = frozenset(
    "id extension modifierExtension link fullUrl resource search request response".split()
)

# Resource types whose "subject" is 0..* Reference in R4 (everywhere else subject/patient is one Reference).
SUBJECT_IS_LIST: frozenset[str] = frozenset({"Account", "Contract"})

# Resource types wardflow reads a clinical code from, where "code" is one CodeableConcept.
CODE_IS_CODEABLE_CONCEPT: frozenset[str] = frozenset(
    {
        "Observation",
        "Condition",
        "Procedure",
        "DiagnosticReport",
        "AllergyIntolerance",
        "ServiceRequest",
        "Medication",
    }
)

# Observation.value[x] / Observation.component.value[x] choices in R4 and the JSON kind each must have.
OBSERVATION_VALUE_KINDS: dict[str, str] = {
    "valueQuantity": "object",
    "valueCodeableConcept": "object",
    "valueString": "string",
    "valueBoolean": "boolean",
    "valueInteger": "integer",
    "valueRange": "object",
    "valueRatio": "object",
    "valueSampledData": "object",
    "valueTime": "string",
    "valueDateTime": "dateTime",
    "valuePeriod": "object",
}

EFFECTIVE_KINDS: dict[str, str] = {
    "effectiveDateTime": "dateTime",
    "effectiveInstant": "dateTime",
    "effectivePeriod": "object",
    "effectiveTiming": "object",
}

ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# R4 dateTime (a year, year-month, date, or date-time with seconds and zone); instant is a subset.
DATE_TIME_RE = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
    r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)
# A JSON key that may be named in a message: FHIR element names start lower-case (or "_" + lower-case).
ELEMENT_NAME_RE = re.compile(r"_?[a-z][A-Za-z0-9]{0,63}")

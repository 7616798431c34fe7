-- One row per landed FHIR Patient (every version: observations refer back to them), decrypted in flight.
{{ fhir_resources('Patient') }}

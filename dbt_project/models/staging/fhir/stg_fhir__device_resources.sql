-- One row per landed FHIR Device (all of them: observations refer back to them), decrypted in flight.
{{ fhir_resources('Device') }}

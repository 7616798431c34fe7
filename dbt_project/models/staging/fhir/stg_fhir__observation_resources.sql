-- One row per landed FHIR Observation above the incremental watermark, decrypted in flight.
{{ fhir_resources('Observation', watermarked=true) }}

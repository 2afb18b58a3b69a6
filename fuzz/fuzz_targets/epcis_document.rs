//! Fuzz target `epcis_document`: see `retrace_fuzzing::epcis_document` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::epcis_document(data));

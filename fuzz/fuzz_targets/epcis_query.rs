//! Fuzz target `epcis_query`: see `retrace_fuzzing::epcis_query` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::epcis_query(data));

//! Fuzz target `witness_request`: see `retrace_fuzzing::witness_request` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::witness_request(data));

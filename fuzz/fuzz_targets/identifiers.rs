//! Fuzz target `identifiers`: see `retrace_fuzzing::identifiers` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::identifiers(data));

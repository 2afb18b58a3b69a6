//! Fuzz target `receipt`: see `retrace_fuzzing::receipt` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::receipt(data));

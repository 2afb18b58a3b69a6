//! Fuzz target `checkpoint`: see `retrace_fuzzing::checkpoint` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::checkpoint(data));

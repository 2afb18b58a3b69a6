//! Fuzz target `entry`: see `retrace_fuzzing::entry` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::entry(data));

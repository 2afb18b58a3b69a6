//! Fuzz target `event_csv`: see `retrace_fuzzing::event_csv` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::event_csv(data));

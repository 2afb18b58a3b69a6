//! Fuzz target `event_json`: see `retrace_fuzzing::event_json` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| retrace_fuzzing::event_json(data));

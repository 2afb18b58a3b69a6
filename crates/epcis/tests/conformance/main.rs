//! Conformance of the CBV 2.0 Event Hash ID: the reference implementation's vectors, GS1's
//! example documents, and stability under re-serialisation. One test binary, so that the
//! shared file readers are compiled once.

mod common;
mod examples;
mod reserialise;
mod vectors;

//! The rare earth domain of retrace: what is recorded and the rules it is
//! checked against (DESIGN.md §2). Pure code — no I/O, no async — so that the
//! same rules run in the server, the CLI, the synthetic industry and the audit.

pub mod act;
pub mod attribution;
pub mod calendar;
pub mod clock;
pub mod distribution;
pub mod element;
pub mod enterprise;
pub mod export_control;
pub mod facility;
pub mod flow;
pub mod lot;
pub mod measurement;
pub mod memory;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod product;
pub mod project;
pub mod quantity;
pub mod quota;
pub mod record;
pub mod region;
pub mod rules;
pub mod scope;
pub mod uscc;

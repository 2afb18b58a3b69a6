//! The `rareearth` extension namespace: what EPCIS 2.0 lacks for China's rare earth total-quota
//! measures, carried as user extension fields (EPCIS 2.0 §7.1.1 and §9.1, extension
//! mechanism; JSON-LD binding §10.3).
//!
//! # The namespace IRI: `https://w3id.org/retrace/rareearth/`, prefix `rareearth`
//!
//! * **It can never change.** The Event Hash ID names an extension field by its expanded
//!   namespace (`{https://w3id.org/retrace/rareearth/}gradePercent`, CBV 2.0 §8.9), so a new
//!   IRI would give every rare earth event ever exported a new hash ID. It is therefore a
//!   constant of the vocabulary, not a setting of a deployment.
//! * **It belongs to no operator's host.** The national system, a group's system and an
//!   enterprise's own ERP must all write the same IRI, and whichever host serves the system
//!   today may not tomorrow. `w3id.org` is the W3C Permanent Identifier Community Group's
//!   redirection service, made for exactly this: a vocabulary namespace that stays put
//!   while the document it redirects to moves. (The redirect itself is registered with
//!   w3id.org; nothing here depends on it resolving, as no JSON-LD context is fetched.)
//! * **It is HTTPS and ends in `/`**, as EPCIS 2.0 recommends for extension namespaces, so
//!   `rareearth:gradePercent` expands to a dereferenceable IRI and the pre-hash string splits
//!   it where XML would.
//! * **The prefix** is the English name of the domain, as the GS1 Web Vocabulary (`gs1`) and
//!   the CBV (`cbv`) are named after theirs; a document may bind another prefix to the same
//!   IRI and is read the same.
//!
//! System-issued identifiers — lots and enterprises without GS1 keys, facilities, countries,
//! business documents — sit under [`ID_BASE`] for the same reasons (see
//! [the `identifier` module](crate::identifier)).

use serde_json::{Value, json};

use crate::Context;

/// The `rareearth` namespace IRI.
pub const NAMESPACE: &str = "https://w3id.org/retrace/rareearth/";

/// The prefix retrace writes for [`NAMESPACE`].
pub const PREFIX: &str = "rareearth";

/// The base of system-issued identifiers, the counterpart of `https://id.gs1.org/` for
/// enterprises with no GS1 keys.
pub const ID_BASE: &str = "https://w3id.org/retrace/id/";

/// The URL of the EPCIS 2.0 JSON-LD context (EPCIS 2.0 §10.2).
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The `@context` of documents retrace writes: the EPCIS 2.0 context and the `rareearth`
/// prefix.
pub fn document_context() -> Value {
    json!([EPCIS_CONTEXT, { PREFIX: NAMESPACE }])
}

/// The EPCIS 2.0 context with the `rareearth` prefix bound, as every event retrace writes is
/// read and hashed.
pub fn context() -> Context {
    let mut context = Context::epcis();
    context
        .extend(&json!({ PREFIX: NAMESPACE }))
        .unwrap_or_else(|_| unreachable!("a prefix bound to a string is a valid context"));
    context
}

/// `rareearth:<local>`, the compact name retrace writes.
pub(crate) fn term(local: &str) -> String {
    format!("{PREFIX}:{local}")
}

/// The expanded name of `rareearth:<local>` as [`Context::expand_name`] writes it.
pub(crate) fn expanded(local: &str) -> String {
    format!("{{{NAMESPACE}}}{local}")
}

/// Whether a field name, expanded with `context`, lies in the `rareearth` namespace.
pub(crate) fn is_rare_earth(context: &Context, name: &str) -> bool {
    context
        .expand_name(name)
        .starts_with(&format!("{{{NAMESPACE}}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_prefix_bound_to_the_namespace_is_the_extension() {
        let mut other = Context::epcis();
        other.extend(&json!({"re": NAMESPACE})).unwrap();
        assert!(is_rare_earth(&other, "re:gradePercent"));
        assert!(!is_rare_earth(&other, "rareearth:gradePercent"));
        assert!(is_rare_earth(&context(), "rareearth:gradePercent"));
        assert_eq!(
            context().expand_name(&term("flow")),
            expanded("flow"),
            "term and expanded agree"
        );
        assert!(!is_rare_earth(&context(), "example:myField"));
    }
}

//! The JSON-LD `@context` of an EPCIS 2.0 document, as far as the Event Hash ID needs it
//! (EPCIS 2.0 §7.3, JSON-LD binding; CBV 2.0 §8.9 on user extensions).
//!
//! The pre-hash string names a user extension field by its expanded namespace, as XML would:
//! `"example:myField"` with `"example": "https://ns.example.com/epcis/"` in the `@context`
//! becomes `{https://ns.example.com/epcis/}myField`, whatever prefix the document chose. Values
//! of standard fields that hold IRIs may be compact IRIs (`"gs1:Temperature"`,
//! `"cbv:Comp-latitude"`) and are expanded the same way. User extension *values* are literals
//! and are not expanded.
//!
//! Remote contexts named by URL (the GS1 EPCIS context itself) are not fetched: this crate does
//! no I/O. The prefixes of the EPCIS 2.0 context are built in; the prefixes and terms a
//! document defines inline are read from it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::HashError;

/// Prefixes of the EPCIS 2.0 JSON-LD context (`epcis-context.jsonld`), always in scope.
const EPCIS_PREFIXES: [(&str, &str); 8] = [
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// The expanded name of `rdfs:comment`, which never enters the hash.
const RDFS_COMMENT: &str = "{http://www.w3.org/2000/01/rdf-schema#}comment";

/// What an EPCIS document's `@context` says about naming: prefixes and terms (name → IRI), and
/// the fields a repository asked to leave out of the hash.
///
/// ```
/// use retrace_epcis::Context;
/// let doc = serde_json::json!({
///     "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
///                  {"example": "https://ns.example.com/epcis/"}],
///     "type": "EPCISDocument",
/// });
/// let context = Context::from_document(&doc)?;
/// assert_eq!(context.expand_name("example:myField"), "{https://ns.example.com/epcis/}myField");
/// assert_eq!(context.expand_name("cbvmda:lotNumber"), "{urn:epcglobal:cbv:mda:}lotNumber");
/// assert_eq!(context.expand_iri("gs1:Temperature").as_deref(), Some("https://gs1.org/voc/Temperature"));
/// # Ok::<(), retrace_epcis::HashError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    prefixes: BTreeMap<String, String>,
    ignored: BTreeSet<String>,
}

impl Default for Context {
    fn default() -> Self {
        Self::epcis()
    }
}

impl Context {
    /// The EPCIS 2.0 context alone: its prefixes (`epcis`, `cbv`, `cbvmda`, `gs1`, `rdfs`,
    /// `owl`, `xsd`, `dcterms`), no ignored fields.
    pub fn epcis() -> Self {
        Context {
            prefixes: EPCIS_PREFIXES
                .iter()
                .map(|(prefix, iri)| ((*prefix).to_owned(), (*iri).to_owned()))
                .collect(),
            ignored: BTreeSet::new(),
        }
    }

    /// The context of an EPCIS document: the EPCIS 2.0 prefixes, then the document's
    /// `@context` entries in order (a later definition wins), and the fields listed in an
    /// `ignoreFields` member (under any prefix, e.g. `"repository-x:ignoreFields"`) of the
    /// document or of its `epcisBody.queryResults`, which the hash then leaves out.
    ///
    /// # Errors
    ///
    /// [`HashError::InvalidContext`] if the `@context` is malformed (see [`Context::extend`]),
    /// [`HashError::InvalidField`] if an `ignoreFields` member is not a list of field names.
    pub fn from_document(doc: &Value) -> Result<Self, HashError> {
        let mut context = Self::epcis();
        if let Some(local) = doc.get("@context") {
            context.extend(local)?;
        }
        for holder in [Some(doc), doc.pointer("/epcisBody/queryResults")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
        {
            for (name, value) in holder {
                let expanded = context.expand_name(name);
                if expanded == "ignoreFields" || expanded.ends_with("}ignoreFields") {
                    context.ignore_fields(name, value)?;
                }
            }
        }
        Ok(context)
    }

    /// Adds a JSON-LD `@context` value: a URL of a remote context (not fetched; the EPCIS
    /// prefixes are built in), an object of term definitions (`"prefix": "iri"`, or
    /// `{"@id": "iri"}`, or `null` to remove one; keywords such as `@version` are skipped), or
    /// an array of these, applied in order. `null` resets to the EPCIS 2.0 context.
    ///
    /// # Errors
    ///
    /// [`HashError::InvalidContext`] for any other JSON type, or a term definition that is not
    /// a string, an object or `null`.
    pub fn extend(&mut self, context: &Value) -> Result<(), HashError> {
        match context {
            Value::String(_) => Ok(()),
            Value::Null => {
                self.prefixes = Self::epcis().prefixes;
                Ok(())
            }
            Value::Array(contexts) => contexts.iter().try_for_each(|c| self.extend(c)),
            Value::Object(definitions) => {
                for (term, definition) in definitions {
                    if term.starts_with('@') || term.contains(':') {
                        continue;
                    }
                    let iri = match definition {
                        Value::String(iri) => Some(iri.as_str()),
                        Value::Object(definition) => definition.get("@id").and_then(Value::as_str),
                        Value::Null => {
                            self.prefixes.remove(term);
                            None
                        }
                        _ => {
                            return Err(HashError::InvalidContext(
                                "a term definition must be a string, an object or null",
                            ));
                        }
                    };
                    if let Some(iri) = iri {
                        let iri = self.resolve(iri, definitions);
                        self.prefixes.insert(term.clone(), iri);
                    }
                }
                Ok(())
            }
            _ => Err(HashError::InvalidContext(
                "must be a URL, an object of term definitions, an array of these, or null",
            )),
        }
    }

    /// The IRI of a term definition's value: a compact IRI is expanded with a prefix defined in
    /// the same context object if there is one (JSON-LD resolves a context object as a whole,
    /// whatever the order of its members), else with the context so far.
    fn resolve(&self, iri: &str, definitions: &serde_json::Map<String, Value>) -> String {
        let sibling = iri.split_once(':').and_then(|(prefix, suffix)| {
            if suffix.starts_with("//") {
                return None;
            }
            let namespace = match definitions.get(prefix)? {
                Value::String(namespace) => namespace.as_str(),
                Value::Object(definition) => definition.get("@id")?.as_str()?,
                _ => return None,
            };
            Some(format!("{namespace}{suffix}"))
        });
        sibling
            .or_else(|| self.expand_iri(iri))
            .unwrap_or_else(|| iri.to_owned())
    }

    /// Leaves a top-level event field out of the hash, named as in the document
    /// (`"repository-x:hash"`) or expanded (`"{https://repository-x.example.com/}hash"`).
    pub fn ignore_field(&mut self, name: &str) {
        let expanded = self.expand_name(name);
        self.ignored.insert(expanded);
    }

    fn ignore_fields(&mut self, member: &str, names: &Value) -> Result<(), HashError> {
        let invalid = || HashError::InvalidField {
            field: member.to_owned(),
            reason: "ignoreFields must list field names",
        };
        match names {
            Value::String(name) => self.ignore_field(name),
            Value::Array(names) => {
                for name in names {
                    self.ignore_field(name.as_str().ok_or_else(invalid)?);
                }
            }
            _ => return Err(invalid()),
        }
        Ok(())
    }

    /// Whether a top-level field, by its expanded name, is left out of the hash.
    pub(crate) fn is_ignored(&self, expanded_name: &str) -> bool {
        self.ignored.contains(expanded_name)
    }

    /// Whether a member is JSON-LD syntax or a comment, never part of the hash: a keyword
    /// (`@context`, `@id`, …), `comment` or `rdfs:comment`.
    pub(crate) fn is_annotation(&self, name: &str) -> bool {
        name.starts_with('@') || name == "comment" || self.expand_name(name) == RDFS_COMMENT
    }

    /// The name of a field as the pre-hash string writes it: a compact IRI `prefix:local` with a
    /// known prefix becomes `{namespace}local`; an absolute IRI, or a term the context maps to
    /// one, is split after its last `/` or `#`; any other name stays as it is.
    pub fn expand_name(&self, name: &str) -> String {
        if let Some((prefix, local)) = name.split_once(':') {
            if local.starts_with("//") {
                return split_iri(name);
            }
            return match self.prefixes.get(prefix) {
                Some(namespace) => format!("{{{namespace}}}{local}"),
                None => name.to_owned(),
            };
        }
        match self.prefixes.get(name) {
            Some(iri) => split_iri(iri),
            None => name.to_owned(),
        }
    }

    /// The IRI of a compact IRI `prefix:suffix` whose prefix the context defines, or `None`
    /// (an absolute IRI, a URN, a bare name).
    pub fn expand_iri(&self, value: &str) -> Option<String> {
        let (prefix, suffix) = value.split_once(':')?;
        if suffix.starts_with("//") {
            return None;
        }
        self.prefixes
            .get(prefix)
            .map(|namespace| format!("{namespace}{suffix}"))
    }
}

/// `https://ns.example.com/epcis/myField` → `{https://ns.example.com/epcis/}myField`.
fn split_iri(iri: &str) -> String {
    match iri.rfind(['/', '#']) {
        Some(at) if at + 1 < iri.len() => format!("{{{}}}{}", &iri[..=at], &iri[at + 1..]),
        _ => iri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Context;
    use crate::HashError;

    #[test]
    fn later_definitions_win_and_null_removes() {
        let doc = json!({"@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"ex": "https://one.example/", "@version": 1.1},
            {"ex": "https://two.example/", "alias": "ex:ns/", "gone": "https://gone.example/"},
            {"gone": null, "typed": {"@id": "https://typed.example/t"}, "ex:coerced": {"@type": "@id"}},
        ]});
        let context = Context::from_document(&doc).unwrap();
        assert_eq!(context.expand_name("ex:f"), "{https://two.example/}f");
        assert_eq!(context.expand_name("alias:f"), "{https://two.example/ns/}f");
        assert_eq!(context.expand_name("gone:f"), "gone:f");
        assert_eq!(context.expand_name("typed"), "{https://typed.example/}t");
        assert_eq!(
            context.expand_name("https://ns.example.com/epcis#f"),
            "{https://ns.example.com/epcis#}f"
        );
        assert_eq!(context.expand_name("plain"), "plain");
        assert_eq!(context.expand_iri("https://id.gs1.org/01/1"), None);
        assert_eq!(context.expand_iri("urn:epc:id:sgtin:1"), None);
    }

    #[test]
    fn ignore_fields_of_documents_and_query_results() {
        let doc = json!({
            "@context": [{"repo": "https://repository-x.example.com/"}],
            "repo:ignoreFields": ["repo:hash", "https://other.example/captureID"],
            "epcisBody": {"queryResults": {"ignoreFields": "repo:seen"}},
        });
        let context = Context::from_document(&doc).unwrap();
        assert!(context.is_ignored("{https://repository-x.example.com/}hash"));
        assert!(context.is_ignored("{https://other.example/}captureID"));
        assert!(context.is_ignored("{https://repository-x.example.com/}seen"));
        assert!(!context.is_ignored("{https://repository-x.example.com/}other"));
    }

    #[test]
    fn malformed_contexts_are_refused() {
        for doc in [
            json!({"@context": 7}),
            json!({"@context": [{"ex": 7}]}),
            json!({"@context": [], "ignoreFields": [1]}),
        ] {
            assert!(
                matches!(
                    Context::from_document(&doc),
                    Err(HashError::InvalidContext(_) | HashError::InvalidField { .. })
                ),
                "{doc}"
            );
        }
        assert_eq!(
            Context::from_document(&json!({"@context": null})).unwrap(),
            Context::epcis()
        );
    }
}

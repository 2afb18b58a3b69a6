//! CBV vocabularies: bare names to full URIs (CBV 2.0 §7 and §8.9, EPCIS 2.0 JSON-LD binding).
//!
//! In EPCIS 2.0 JSON-LD a field typed `@vocab` may carry a bare name — `"bizStep": "shipping"` —
//! which the standard's contexts expand to a web vocabulary URI,
//! `https://ref.gs1.org/cbv/BizStep-shipping`. The pre-hash string always carries the full URI.
//! The tables here are the GS1 context files themselves (`context/`, GS1 licence beside them),
//! embedded at build time and read once, so that a new release of a vocabulary is a file
//! replaced, not code changed.
//!
//! CBV 1.x URNs (`urn:epcglobal:cbv:bizstep:shipping`) are mapped to the same URIs by
//! [`web_vocabulary`], in every value, as CBV 2.0 §8.9 requires.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::Context;

/// A CBV or GS1 vocabulary whose bare names a standard EPCIS field may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    /// `bizStep` — CBV §7.1, `https://ref.gs1.org/cbv/BizStep-…`.
    BizStep,
    /// `disposition`, `persistentDisposition.set` / `.unset` — CBV §7.2, `…/Disp-…`.
    Disposition,
    /// `bizTransactionList[].type` — CBV §7.3, `…/BTT-…`.
    BizTransactionType,
    /// `sourceList[].type`, `destinationList[].type` — CBV §7.4, `…/SDT-…`.
    SourceDestinationType,
    /// `sensorReport[].type` — GS1 Web Vocabulary measurement types, `https://gs1.org/voc/…`.
    MeasurementType,
    /// `sensorReport[].exception` — GS1 Web Vocabulary sensor alert types.
    SensorAlertType,
    /// `sensorReport[].component` — CBV §7.6 components, `…/Comp-…`.
    Component,
}

impl Vocabulary {
    /// The full URI of a bare name of this vocabulary, or `None` if the name is not one of it.
    ///
    /// ```
    /// use retrace_epcis::vocab::Vocabulary;
    /// assert_eq!(Vocabulary::BizStep.expand("shipping"), Some("https://ref.gs1.org/cbv/BizStep-shipping"));
    /// assert_eq!(Vocabulary::MeasurementType.expand("Temperature"), Some("https://gs1.org/voc/Temperature"));
    /// assert_eq!(Vocabulary::BizStep.expand("in_transit"), None);
    /// ```
    ///
    /// # Panics
    ///
    /// Only if an embedded GS1 context file were not the JSON this crate ships; the crate's
    /// tests read every one.
    pub fn expand(self, name: &str) -> Option<&'static str> {
        self.terms().get(name).map(String::as_str)
    }

    /// A value of a field of this vocabulary as one full URI, whichever way it is written: a
    /// bare name (`shipping`), a compact IRI (`cbv:BizStep-shipping`), a CBV 1.x URN
    /// (`urn:epcglobal:cbv:bizstep:shipping`) or the URI itself. Values outside the vocabulary
    /// (a private URI) are returned as written, compact IRIs expanded. This is how EPCIS 2.0
    /// §8.2.7.1 compares vocabulary values in queries and how the mapping reads them.
    ///
    /// ```
    /// use retrace_epcis::{Context, vocab::Vocabulary};
    /// let context = Context::epcis();
    /// for written in ["shipping", "cbv:BizStep-shipping", "urn:epcglobal:cbv:bizstep:shipping"] {
    ///     assert_eq!(Vocabulary::BizStep.normalise(written, &context), "https://ref.gs1.org/cbv/BizStep-shipping");
    /// }
    /// assert_eq!(Vocabulary::BizStep.normalise("https://example.com/step", &context), "https://example.com/step");
    /// ```
    pub fn normalise(self, value: &str, context: &Context) -> String {
        let value = value.trim();
        if let Some(uri) = self.expand(value) {
            return uri.to_owned();
        }
        web_vocabulary(value)
            .or_else(|| context.expand_iri(value))
            .unwrap_or_else(|| value.to_owned())
    }

    fn terms(self) -> &'static HashMap<String, String> {
        match self {
            Vocabulary::BizStep => &BIZ_STEP,
            Vocabulary::Disposition => &DISPOSITION,
            Vocabulary::BizTransactionType => &BIZ_TRANSACTION_TYPE,
            Vocabulary::SourceDestinationType => &SOURCE_DESTINATION_TYPE,
            Vocabulary::MeasurementType => &MEASUREMENT_TYPE,
            Vocabulary::SensorAlertType => &SENSOR_ALERT_TYPE,
            Vocabulary::Component => &COMPONENT,
        }
    }
}

type Terms = LazyLock<HashMap<String, String>>;

static BIZ_STEP: Terms =
    LazyLock::new(|| terms(include_str!("../context/cbv-context-bizstep.jsonld")));
static DISPOSITION: Terms =
    LazyLock::new(|| terms(include_str!("../context/cbv-context-disposition.jsonld")));
static BIZ_TRANSACTION_TYPE: Terms = LazyLock::new(|| {
    terms(include_str!(
        "../context/cbv-context-biztransaction-type.jsonld"
    ))
});
static SOURCE_DESTINATION_TYPE: Terms = LazyLock::new(|| {
    terms(include_str!(
        "../context/cbv-context-sourcedest-type.jsonld"
    ))
});
static MEASUREMENT_TYPE: Terms = LazyLock::new(|| {
    terms(include_str!(
        "../context/gs1-context-measurement-type.jsonld"
    ))
});
static SENSOR_ALERT_TYPE: Terms = LazyLock::new(|| {
    terms(include_str!(
        "../context/gs1-context-sensor-alert-type.jsonld"
    ))
});
static COMPONENT: Terms =
    LazyLock::new(|| terms(include_str!("../context/cbv-context-component.jsonld")));

/// The term definitions of one GS1 context file: `"shipping": "cbv:BizStep-shipping"` with
/// `"cbv": "https://ref.gs1.org/cbv/"` gives `shipping → https://ref.gs1.org/cbv/BizStep-shipping`.
fn terms(file: &str) -> HashMap<String, String> {
    let document: Value = serde_json::from_str(file).expect("an embedded GS1 context is JSON");
    let definitions = document
        .get("@context")
        .and_then(Value::as_object)
        .expect("an embedded GS1 context has an @context object");
    let namespace = |prefix: &str| {
        definitions
            .get(prefix)
            .and_then(Value::as_str)
            .filter(|iri| iri.ends_with('/'))
    };
    definitions
        .iter()
        .filter(|(term, _)| !term.starts_with('@'))
        .filter_map(|(term, definition)| {
            let (prefix, name) = definition.as_str()?.split_once(':')?;
            Some((term.clone(), format!("{}{name}", namespace(prefix)?)))
        })
        .collect()
}

/// CBV 1.x URN prefixes and the CBV 2.0 web vocabulary prefixes that replace them.
const URN_TO_WEB: [(&str, &str); 5] = [
    (
        "urn:epcglobal:cbv:bizstep:",
        "https://ref.gs1.org/cbv/BizStep-",
    ),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

/// The CBV 2.0 web vocabulary URI of a CBV 1.x URN, or `None` if `text` is not one.
///
/// ```
/// use retrace_epcis::vocab::web_vocabulary;
/// assert_eq!(web_vocabulary("urn:epcglobal:cbv:sdt:owning_party").as_deref(), Some("https://ref.gs1.org/cbv/SDT-owning_party"));
/// assert_eq!(web_vocabulary("urn:epcglobal:cbv:bt:0614141073467:1152"), None);
/// ```
pub fn web_vocabulary(text: &str) -> Option<String> {
    URN_TO_WEB
        .iter()
        .find_map(|(urn, web)| text.strip_prefix(urn).map(|name| format!("{web}{name}")))
}

#[cfg(test)]
mod tests {
    use super::Vocabulary;

    #[test]
    fn every_embedded_context_is_read() {
        for (vocabulary, size, name, uri) in [
            (
                Vocabulary::BizStep,
                41,
                "void_shipping",
                "https://ref.gs1.org/cbv/BizStep-void_shipping",
            ),
            (
                Vocabulary::Disposition,
                33,
                "in_progress",
                "https://ref.gs1.org/cbv/Disp-in_progress",
            ),
            (
                Vocabulary::BizTransactionType,
                13,
                "desadv",
                "https://ref.gs1.org/cbv/BTT-desadv",
            ),
            (
                Vocabulary::SourceDestinationType,
                3,
                "owning_party",
                "https://ref.gs1.org/cbv/SDT-owning_party",
            ),
            (
                Vocabulary::MeasurementType,
                72,
                "Dimensionless",
                "https://gs1.org/voc/Dimensionless",
            ),
            (
                Vocabulary::SensorAlertType,
                2,
                "ALARM_CONDITION",
                "https://gs1.org/voc/ALARM_CONDITION",
            ),
            (
                Vocabulary::Component,
                14,
                "latitude",
                "https://ref.gs1.org/cbv/Comp-latitude",
            ),
        ] {
            assert_eq!(vocabulary.terms().len(), size, "{vocabulary:?}");
            assert_eq!(vocabulary.expand(name), Some(uri));
        }
    }
}

//! The pre-hash string and the Event Hash ID of one EPCIS event (CBV 2.0 §8.9).
//!
//! The pre-hash string is the concatenation, without separators, of:
//!
//! 1. `eventType=<type>`;
//! 2. the standard fields present, in this order — `eventTime`, `eventTimeZoneOffset`,
//!    `certificationInfo`, `epcList`, `parentID`, `inputEPCList`, `childEPCs`, `quantityList`,
//!    `childQuantityList`, `inputQuantityList`, `outputEPCList`, `outputQuantityList`,
//!    `action`, `transformationID`, `bizStep`, `disposition`, `persistentDisposition`,
//!    `readPoint`, `bizLocation`, `sensorElementList`;
//! 3. everything else — `bizTransactionList`, `sourceList`, `destinationList`, `ilmd` and the
//!    user extension fields — each written out whole, the pieces sorted.
//!
//! A simple field is written `name=value`; a list is its name followed by its items, sorted
//! (`epcListepc=…epc=…`, `quantityListquantityElementepcClass=…quantity=…uom=…`); a structure
//! is its name followed by its standard members in their order and then its extension members
//! sorted (`readPointid=…{ns}field=…`); a repeated field is written once per value, sorted.
//! Sorting is by UTF-8 code units, case-sensitive. Fields with no value (`null`, `""`, `[]`)
//! are left out. Values are canonical ([`canonical_value`], [`canonical_timestamp`]); bare CBV
//! names and compact IRIs of standard fields are expanded ([`Vocabulary`], [`Context`]).
//!
//! Never part of the hash: `eventID`, `recordTime`, `errorDeclaration`, the event's own
//! `@context` (whose prefixes do apply), JSON-LD keywords, comments (`comment`, `rdfs:comment`),
//! and the fields a document's `ignoreFields` names.
//!
//! # Where this follows the reference vectors rather than the CBV text
//!
//! * `certificationInfo` sits right after `eventTimeZoneOffset` (vectors
//!   `CertificationInfoAndSensorReportWithCRS`, `TimeStampRoundOff`).
//! * `bizTransactionList`, `sourceList`, `destinationList` and `ilmd` are sorted with the user
//!   extensions, after `sensorElementList`, so `destinationList` precedes `sourceList`
//!   (`ReferenceEventHashAlgorithm3`, `epcisDocWithVariousEventTypes`).
//! * `epcList` precedes `parentID`, as in the CBV table; no vector holds both.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::path::Path;
use crate::timestamp::canonical_timestamp;
use crate::value::{canonical_value, json_number};
use crate::vocab::Vocabulary;
use crate::{Context, HashError};

/// The CBV 2.0 Event Hash ID of an event:
/// `ni:///sha-256;<hex SHA-256 of the pre-hash string>?ver=CBV2.0` (RFC 6920 `ni` URI).
///
/// # Errors
///
/// As [`prehash()`].
pub fn event_hash_id(event: &Value, context: &Context) -> Result<String, HashError> {
    let digest = Sha256::digest(prehash(event, context)?.as_bytes());
    Ok(format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(digest)))
}

/// The canonical pre-hash string of an event in the EPCIS 2.0 JSON-LD binding, as the module
/// documentation describes, with field names and compact IRIs resolved through `context` and
/// the event's own `@context`.
///
/// # Errors
///
/// [`HashError::EventNotObject`], [`HashError::MissingEventType`]; [`HashError::InvalidTime`]
/// for a timestamp without a time zone or not a date-time; [`HashError::InvalidField`] for a
/// standard field of the wrong JSON type (a `readPoint` that is a string, an `epcList` of
/// objects); [`HashError::InvalidContext`] for a malformed event `@context`.
pub fn prehash(event: &Value, context: &Context) -> Result<String, HashError> {
    let Value::Object(fields) = event else {
        return Err(HashError::EventNotObject);
    };
    let event_type = fields
        .get("type")
        .and_then(Value::as_str)
        .ok_or(HashError::MissingEventType)?;
    let scoped;
    let context = match fields.get("@context") {
        Some(local) => {
            let mut extended = context.clone();
            extended.extend(local)?;
            scoped = extended;
            &scoped
        }
        None => context,
    };
    let walk = Walk { context };
    let root = Path::ROOT;

    let mut out = format!("eventType={}", event_type.trim());
    for field in ORDERED {
        if let Some(value) = fields.get(field.name) {
            walk.append_sorted(&mut out, walk.field(field, value, root.key(field.name))?);
        }
    }
    let mut rest = Vec::new();
    for (name, value) in fields {
        if EXCLUDED.contains(&name.as_str())
            || ORDERED.iter().any(|field| field.name == name)
            || context.is_annotation(name)
        {
            continue;
        }
        match UNORDERED.iter().find(|field| field.name == name) {
            Some(field) => rest.extend(walk.field(field, value, root.key(name))?),
            None => {
                let expanded = context.expand_name(name);
                if !context.is_ignored(&expanded) {
                    walk.extension(&expanded, value, &mut rest);
                }
            }
        }
    }
    walk.append_sorted(&mut out, rest);
    Ok(out)
}

/// How a standard field's value is written.
#[derive(Debug)]
enum Kind {
    /// `xsd:dateTimeStamp`: [`canonical_timestamp`].
    Time,
    /// A literal: [`canonical_value`].
    Literal,
    /// An IRI (`@type: @id`): compact IRIs expanded, then [`canonical_value`].
    Iri,
    /// A vocabulary term (`@type: @vocab`): bare names and compact IRIs expanded.
    Vocab(Vocabulary),
    /// A list written as its name and its sorted items, each labelled `item` (or unlabelled).
    List { item: &'static str, of: Item },
    /// A structure: standard members in order, then extension members sorted.
    Object(&'static [Field]),
    /// Written like a user extension (`ilmd`: name, then its members sorted).
    Extension,
    /// Never written (the RDF `type` of a sensor element).
    Skip,
}

/// The items of a [`Kind::List`].
#[derive(Debug)]
enum Item {
    Iri,
    Object(&'static [Field]),
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    kind: Kind,
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field { name, kind }
}

const EPCS: Kind = Kind::List {
    item: "epc",
    of: Item::Iri,
};

const QUANTITIES: Kind = Kind::List {
    item: "quantityElement",
    of: Item::Object(&[
        field("epcClass", Kind::Iri),
        field("quantity", Kind::Literal),
        field("uom", Kind::Literal),
    ]),
};

const LOCATION: Kind = Kind::Object(&[field("id", Kind::Iri)]);

const SENSOR_METADATA: &[Field] = &[
    field("time", Kind::Time),
    field("startTime", Kind::Time),
    field("endTime", Kind::Time),
    field("deviceID", Kind::Iri),
    field("deviceMetadata", Kind::Iri),
    field("rawData", Kind::Iri),
    field("dataProcessingMethod", Kind::Iri),
    field("bizRules", Kind::Iri),
];

const SENSOR_REPORT: &[Field] = &[
    field("type", Kind::Vocab(Vocabulary::MeasurementType)),
    field("exception", Kind::Vocab(Vocabulary::SensorAlertType)),
    field("deviceID", Kind::Iri),
    field("deviceMetadata", Kind::Iri),
    field("rawData", Kind::Iri),
    field("dataProcessingMethod", Kind::Iri),
    field("time", Kind::Time),
    field("microorganism", Kind::Iri),
    field("chemicalSubstance", Kind::Iri),
    field("value", Kind::Literal),
    field("component", Kind::Vocab(Vocabulary::Component)),
    field("stringValue", Kind::Literal),
    field("booleanValue", Kind::Literal),
    field("hexBinaryValue", Kind::Literal),
    field("uriValue", Kind::Iri),
    field("minValue", Kind::Literal),
    field("maxValue", Kind::Literal),
    field("meanValue", Kind::Literal),
    field("sDev", Kind::Literal),
    field("percRank", Kind::Literal),
    field("percValue", Kind::Literal),
    field("uom", Kind::Literal),
    field("coordinateReferenceSystem", Kind::Iri),
];

/// The standard fields of an event in the order of the pre-hash string.
const ORDERED: &[Field] = &[
    field("eventTime", Kind::Time),
    field("eventTimeZoneOffset", Kind::Literal),
    field("certificationInfo", Kind::Iri),
    field("epcList", EPCS),
    field("parentID", Kind::Iri),
    field("inputEPCList", EPCS),
    field("childEPCs", EPCS),
    field("quantityList", QUANTITIES),
    field("childQuantityList", QUANTITIES),
    field("inputQuantityList", QUANTITIES),
    field("outputEPCList", EPCS),
    field("outputQuantityList", QUANTITIES),
    field("action", Kind::Literal),
    field("transformationID", Kind::Iri),
    field("bizStep", Kind::Vocab(Vocabulary::BizStep)),
    field("disposition", Kind::Vocab(Vocabulary::Disposition)),
    field(
        "persistentDisposition",
        Kind::Object(&[
            field("set", Kind::Vocab(Vocabulary::Disposition)),
            field("unset", Kind::Vocab(Vocabulary::Disposition)),
        ]),
    ),
    field("readPoint", LOCATION),
    field("bizLocation", LOCATION),
    field(
        "sensorElementList",
        Kind::List {
            item: "sensorElement",
            of: Item::Object(&[
                field("sensorMetadata", Kind::Object(SENSOR_METADATA)),
                field("sensorReport", Kind::Object(SENSOR_REPORT)),
                field("type", Kind::Skip),
            ]),
        },
    ),
];

/// Standard fields written among the user extensions, sorted with them.
const UNORDERED: &[Field] = &[
    field(
        "bizTransactionList",
        Kind::List {
            item: "",
            of: Item::Object(&[
                field("type", Kind::Vocab(Vocabulary::BizTransactionType)),
                field("bizTransaction", Kind::Iri),
            ]),
        },
    ),
    field(
        "sourceList",
        Kind::List {
            item: "",
            of: Item::Object(&[
                field("type", Kind::Vocab(Vocabulary::SourceDestinationType)),
                field("source", Kind::Iri),
            ]),
        },
    ),
    field(
        "destinationList",
        Kind::List {
            item: "",
            of: Item::Object(&[
                field("type", Kind::Vocab(Vocabulary::SourceDestinationType)),
                field("destination", Kind::Iri),
            ]),
        },
    ),
    field("ilmd", Kind::Extension),
];

/// Event members that never enter the hash (`type` is written first as `eventType`).
const EXCLUDED: [&str; 4] = ["type", "eventID", "recordTime", "errorDeclaration"];

struct Walk<'c> {
    context: &'c Context,
}

impl Walk<'_> {
    fn append_sorted(&self, out: &mut String, mut pieces: Vec<String>) {
        pieces.sort_unstable();
        for piece in pieces {
            out.push_str(&piece);
        }
    }

    /// The pieces one standard field contributes: one per value (a repeated field), or one
    /// for a whole list; none for an empty one.
    fn field(
        &self,
        field: &Field,
        value: &Value,
        path: Path<'_>,
    ) -> Result<Vec<String>, HashError> {
        match (&field.kind, value) {
            (Kind::Extension, value) => {
                let mut pieces = Vec::new();
                self.extension(field.name, value, &mut pieces);
                Ok(pieces)
            }
            (Kind::List { item, of }, value) => {
                let items = match value {
                    Value::Array(items) => items.as_slice(),
                    Value::Null => &[],
                    single => std::slice::from_ref(single),
                };
                let mut pieces = Vec::with_capacity(items.len());
                for (index, value) in items.iter().enumerate() {
                    let path = path.index(index);
                    let piece = match of {
                        Item::Iri => self.scalar_piece(item, &Kind::Iri, value, path)?,
                        Item::Object(members) => self.object_piece(item, members, value, path)?,
                    };
                    pieces.extend(piece);
                }
                if pieces.is_empty() {
                    return Ok(Vec::new());
                }
                let mut list = field.name.to_owned();
                self.append_sorted(&mut list, pieces);
                Ok(vec![list])
            }
            (Kind::Skip, _) => Ok(Vec::new()),
            (kind, Value::Array(values)) => {
                let mut pieces = Vec::with_capacity(values.len());
                for (index, value) in values.iter().enumerate() {
                    pieces.extend(self.piece(field.name, kind, value, path.index(index))?);
                }
                Ok(pieces)
            }
            (kind, value) => Ok(self
                .piece(field.name, kind, value, path)?
                .into_iter()
                .collect()),
        }
    }

    /// One value of a field that is neither a list nor an extension.
    fn piece(
        &self,
        name: &str,
        kind: &Kind,
        value: &Value,
        path: Path<'_>,
    ) -> Result<Option<String>, HashError> {
        match kind {
            Kind::Object(members) => self.object_piece(name, members, value, path),
            scalar => self.scalar_piece(name, scalar, value, path),
        }
    }

    /// `label` followed by a structure's members, or nothing if it has none.
    fn object_piece(
        &self,
        label: &str,
        members: &[Field],
        value: &Value,
        path: Path<'_>,
    ) -> Result<Option<String>, HashError> {
        let map = match value {
            Value::Object(map) => map,
            Value::Null => return Ok(None),
            _ => {
                return Err(HashError::InvalidField {
                    field: path.to_string(),
                    reason: "expected an object",
                });
            }
        };
        let content = self.object(members, map, path)?;
        Ok((!content.is_empty()).then(|| format!("{label}{content}")))
    }

    /// A structure's standard members in their order, then its other members sorted.
    fn object(
        &self,
        members: &[Field],
        map: &Map<String, Value>,
        path: Path<'_>,
    ) -> Result<String, HashError> {
        let mut out = String::new();
        for member in members {
            if let Some(value) = map.get(member.name) {
                self.append_sorted(&mut out, self.field(member, value, path.key(member.name))?);
            }
        }
        let mut extensions = Vec::new();
        for (name, value) in map {
            if !members.iter().any(|member| member.name == name)
                && !self.context.is_annotation(name)
            {
                self.extension(&self.context.expand_name(name), value, &mut extensions);
            }
        }
        self.append_sorted(&mut out, extensions);
        Ok(out)
    }

    /// `label=value` for a simple value, or nothing if it is empty.
    fn scalar_piece(
        &self,
        label: &str,
        kind: &Kind,
        value: &Value,
        path: Path<'_>,
    ) -> Result<Option<String>, HashError> {
        let text = match (kind, value) {
            (_, Value::Null) => return Ok(None),
            (Kind::Time, Value::String(text)) => {
                canonical_timestamp(text.trim()).ok_or_else(|| HashError::InvalidTime {
                    field: path.to_string(),
                    value: text.clone(),
                })?
            }
            (Kind::Time, other) => {
                return Err(HashError::InvalidTime {
                    field: path.to_string(),
                    value: other.to_string(),
                });
            }
            (Kind::Iri, Value::String(text)) => {
                let text = text.trim();
                canonical_value(
                    &self
                        .context
                        .expand_iri(text)
                        .unwrap_or_else(|| text.to_owned()),
                )
            }
            (Kind::Vocab(vocabulary), Value::String(text)) => {
                let text = text.trim();
                let expanded = match vocabulary.expand(text) {
                    Some(uri) => uri.to_owned(),
                    None => self
                        .context
                        .expand_iri(text)
                        .unwrap_or_else(|| text.to_owned()),
                };
                canonical_value(&expanded)
            }
            (_, Value::String(text)) => canonical_value(text),
            (_, Value::Number(number)) => json_number(number),
            (_, Value::Bool(flag)) => flag.to_string(),
            (_, Value::Array(_) | Value::Object(_)) => {
                return Err(HashError::InvalidField {
                    field: path.to_string(),
                    reason: "expected a string, a number or a boolean",
                });
            }
        };
        Ok((!text.is_empty()).then(|| format!("{label}={text}")))
    }

    /// A user extension (or ILMD) member, written as XML would carry it: `name=value` for a
    /// value, `name` followed by its members sorted for an object, once per item for an array.
    fn extension(&self, name: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Null => {}
            Value::Array(values) => {
                for value in values {
                    self.extension(name, value, out);
                }
            }
            Value::Object(map) => {
                let mut members = Vec::new();
                for (member, value) in map {
                    if !self.context.is_annotation(member) {
                        self.extension(&self.context.expand_name(member), value, &mut members);
                    }
                }
                let mut piece = name.to_owned();
                self.append_sorted(&mut piece, members);
                out.push(piece);
            }
            Value::String(text) => {
                let text = canonical_value(text);
                out.push(if text.is_empty() {
                    name.to_owned()
                } else {
                    format!("{name}={text}")
                });
            }
            Value::Number(number) => out.push(format!("{name}={}", json_number(number))),
            Value::Bool(flag) => out.push(format!("{name}={flag}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{event_hash_id, prehash};
    use crate::{Context, HashError};

    fn pre(event: serde_json::Value) -> Result<String, HashError> {
        prehash(&event, &Context::epcis())
    }

    #[test]
    fn minimal_event() {
        let event = json!({"type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00Z",
                           "eventTimeZoneOffset": "+00:00", "action": "OBSERVE"});
        assert_eq!(
            pre(event.clone()).unwrap(),
            "eventType=ObjectEventeventTime=2020-01-01T00:00:00.000ZeventTimeZoneOffset=+00:00action=OBSERVE"
        );
        let id = event_hash_id(&event, &Context::epcis()).unwrap();
        assert_eq!(id.len(), "ni:///sha-256;".len() + 64 + "?ver=CBV2.0".len());
    }

    #[test]
    fn excluded_and_empty_fields_leave_no_trace() {
        let bare = json!({"type": "ObjectEvent", "action": "ADD"});
        let noisy = json!({"type": "ObjectEvent", "action": "ADD", "eventID": "urn:uuid:1",
                           "recordTime": "2020-01-01T00:00:00Z", "errorDeclaration": {"reason": "x"},
                           "@context": {"ex": "https://ex.example/"}, "rdfs:comment": "c", "comment": "c",
                           "epcList": [], "readPoint": null, "bizStep": "", "quantityList": [{}]});
        assert_eq!(pre(bare).unwrap(), pre(noisy).unwrap());
    }

    #[test]
    fn extensions_are_named_by_namespace_and_sorted() {
        let event = json!({
            "@context": {"b": "https://b.example/", "a": "https://a.example/"},
            "type": "ObjectEvent",
            "b:z": {"a:y": ["2", "1.0"], "a:x": true},
            "a:w": 3,
            "readPoint": {"a:x": "", "id": "urn:epc:id:sgln:4012345.00001.0"},
            "ilmd": {"cbvmda:lotNumber": "L1"},
            "sourceList": {"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"},
            "bizTransactionList": [{"bizTransaction": "urn:epcglobal:cbv:bt:1:2"}],
        });
        assert_eq!(
            pre(event).unwrap(),
            "eventType=ObjectEvent\
             readPointid=https://id.gs1.org/414/4012345000016{https://a.example/}x\
             bizTransactionListbizTransaction=urn:epcglobal:cbv:bt:1:2\
             ilmd{urn:epcglobal:cbv:mda:}lotNumber=L1\
             sourceListtype=https://ref.gs1.org/cbv/SDT-owning_partysource=https://id.gs1.org/417/4012345000009\
             {https://a.example/}w=3\
             {https://b.example/}z{https://a.example/}x=true{https://a.example/}y=1{https://a.example/}y=2"
        );
    }

    #[test]
    fn vocabulary_values_expand_but_extension_values_do_not() {
        let event = json!({
            "type": "ObjectEvent",
            "bizStep": "urn:epcglobal:cbv:bizstep:receiving",
            "disposition": "cbv:Disp-active",
            "persistentDisposition": {"set": ["recalled", "cbv:Disp-damaged"]},
            "sensorElementList": [{"type": "epcis:SensorElement", "sensorReport": [
                {"type": "gs1:Temperature", "component": "x", "booleanValue": false, "value": 1.50}]}],
            "gs1:note": "cbv:Disp-active",
        });
        assert_eq!(
            pre(event).unwrap(),
            "eventType=ObjectEvent\
             bizStep=https://ref.gs1.org/cbv/BizStep-receiving\
             disposition=https://ref.gs1.org/cbv/Disp-active\
             persistentDispositionset=https://ref.gs1.org/cbv/Disp-damagedset=https://ref.gs1.org/cbv/Disp-recalled\
             sensorElementListsensorElementsensorReporttype=https://gs1.org/voc/Temperaturevalue=1.5\
             component=https://ref.gs1.org/cbv/Comp-xbooleanValue=false\
             {https://gs1.org/voc/}note=cbv:Disp-active"
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(pre(json!([])), Err(HashError::EventNotObject));
        assert_eq!(
            pre(json!({"action": "ADD"})),
            Err(HashError::MissingEventType)
        );
        assert_eq!(
            pre(json!({"type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00"})),
            Err(HashError::InvalidTime {
                field: "eventTime".into(),
                value: "2020-01-01T00:00:00".into()
            })
        );
        assert_eq!(
            pre(
                json!({"type": "ObjectEvent", "sensorElementList": [{"sensorMetadata": {"time": 5}}]})
            ),
            Err(HashError::InvalidTime {
                field: "sensorElementList[0].sensorMetadata.time".into(),
                value: "5".into()
            })
        );
        assert_eq!(
            pre(json!({"type": "ObjectEvent", "readPoint": "urn:epc:id:sgln:4012345.00001.0"})),
            Err(HashError::InvalidField {
                field: "readPoint".into(),
                reason: "expected an object"
            })
        );
        assert_eq!(
            pre(json!({"type": "ObjectEvent", "epcList": [{"epc": "x"}]})),
            Err(HashError::InvalidField {
                field: "epcList[0]".into(),
                reason: "expected a string, a number or a boolean"
            })
        );
    }
}

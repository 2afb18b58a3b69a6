//! JSON batches, and the record-by-record dispatch that CSV shares.
//!
//! `retrace_domain::record::Record` deserializes through a `serde_json::Value` and
//! `#[serde(flatten)]`, which buffer their input: an error deep inside a flow would come out
//! without a path ("`45.5` is not a share", but where?). So capture does the dispatch itself —
//! the envelope fields (`event_time`, `enterprise`, … or `effective`, `official`), then the tag
//! (`kind` or `act`), then the kind's own struct — each through [`serde_path_to_error`], so
//! that every error names its field: `output.measurement.grade`, `inputs[1].mass`.

use retrace_domain::act::{Act, ActRecord};
use retrace_domain::facility::FacilityId;
use retrace_domain::flow::{Flow, FlowEvent, FlowKind};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::{CaptureError, MAX_RECORDS};

/// Parses a JSON batch: an array of records, `{"records": [...]}`, or one record object.
///
/// Each record is a flow (with a `kind`) or an official act (with an `act`), in the serde form
/// of [`Record`]. A UTF-8 byte-order mark is skipped.
///
/// # Errors
/// A [`CaptureError`] with `line` and `column` when the bytes are not JSON; with `record` (from
/// 0) and `field` (a path such as `output.measurement.grade`) when a record is wrong; with
/// neither when the batch is empty, has more than [`MAX_RECORDS`] records, or is not an array or
/// object.
pub fn parse_json(bytes: &[u8]) -> Result<Vec<Record>, CaptureError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(syntax_error)?;
    let items = batch_items(value)?;
    check_count(items.len())?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| record(item).map_err(|e| e.in_record(i)))
        .collect()
}

/// Refuses an empty batch (there is nothing to receipt) and one beyond [`MAX_RECORDS`].
pub(crate) fn check_count(count: usize) -> Result<(), CaptureError> {
    if count == 0 {
        return Err(CaptureError::batch("the batch holds no records"));
    }
    if count > MAX_RECORDS {
        return Err(CaptureError::batch(format!(
            "the batch holds {count} records; at most {MAX_RECORDS} are accepted at once: split it"
        )));
    }
    Ok(())
}

fn syntax_error(e: serde_json::Error) -> CaptureError {
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let text = e.to_string();
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    CaptureError {
        line: Some(e.line().max(1)),
        column: Some(e.column()),
        message: format!("not valid JSON: {message}"),
        ..CaptureError::batch("")
    }
}

fn batch_items(value: Value) -> Result<Vec<Value>, CaptureError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) if map.contains_key("records") => {
            if let Some(other) = map.keys().find(|k| *k != "records") {
                return Err(CaptureError {
                    field: Some(other.clone()),
                    ..CaptureError::batch("a batch object holds `records` and nothing else")
                });
            }
            match map.remove("records") {
                Some(Value::Array(items)) => Ok(items),
                _ => Err(CaptureError {
                    field: Some("records".into()),
                    ..CaptureError::batch("`records` is an array of record objects")
                }),
            }
        }
        Value::Object(_) => Ok(vec![value]),
        other => Err(CaptureError::batch(format!(
            "expected an array of records, {{\"records\": [...]}} or one record object, not {}",
            describe(&other)
        ))),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An error inside one record: a path into it and what is wrong there.
#[derive(Debug)]
pub(crate) struct FieldError {
    /// `output.measurement.grade`, `inputs[1].mass`; empty for the record as a whole.
    pub(crate) path: String,
    pub(crate) message: String,
}

impl FieldError {
    pub(crate) fn at(path: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn in_record(self, record: usize) -> CaptureError {
        CaptureError {
            record: Some(record),
            field: (!self.path.is_empty()).then_some(self.path),
            ..CaptureError::batch(self.message)
        }
    }
}

/// Deserializes `value` and, on error, names the path to the field at fault. Paths that
/// `serde_path_to_error` leaves at the parent — a missing field, a map key — are completed from
/// the message so that they name the field itself.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut path = e.path().to_string();
        while let Some(parent) = path.strip_suffix('?') {
            path = parent.trim_end_matches('.').to_owned();
        }
        if path == "." {
            path.clear();
        }
        if let Some(name) = named_field(&message) {
            let last = path.rsplit('.').next().unwrap_or_default();
            if last != name {
                path = join(&path, name);
            }
        }
        FieldError { path, message }
    })
}

/// The field a "missing field `x`" or "unknown field `x`" message is about.
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next()
}

pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// One record from its JSON value: an act when it has an `act` key, a flow otherwise — the
/// rule [`Record`]'s own `Deserialize` follows.
fn record(value: Value) -> Result<Record, FieldError> {
    let Value::Object(map) = value else {
        return Err(FieldError::at(
            "",
            format!("a record is a JSON object, not {}", describe(&value)),
        ));
    };
    if map.contains_key("act") {
        act_record(map).map(Record::Act)
    } else {
        flow_record(map).map(Record::Flow)
    }
}

/// The envelope of every flow: the fields of [`FlowEvent`] outside its flattened [`Flow`].
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct FlowHead {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) event_time: OffsetDateTime,
    pub(crate) enterprise: Uscc,
    #[serde(default)]
    pub(crate) facility: Option<FacilityId>,
    #[serde(default)]
    pub(crate) reference: Option<String>,
}

/// The keys of [`FlowHead`]; everything else of a flow object belongs to its kind.
pub(crate) const FLOW_HEAD: [&str; 4] = ["event_time", "enterprise", "facility", "reference"];

impl FlowHead {
    pub(crate) fn with(self, flow: Flow) -> FlowEvent {
        FlowEvent {
            event_time: self.event_time,
            enterprise: self.enterprise,
            facility: self.facility,
            reference: self.reference,
            flow,
        }
    }
}

/// Moves the `keys` present in `map` into a new object.
fn split_off(map: &mut Map<String, Value>, keys: &[&str]) -> Value {
    let head = keys
        .iter()
        .filter_map(|k| map.remove(*k).map(|v| ((*k).to_owned(), v)))
        .collect();
    Value::Object(head)
}

fn flow_record(mut map: Map<String, Value>) -> Result<FlowEvent, FieldError> {
    let head: FlowHead = from_value(split_off(&mut map, &FLOW_HEAD))?;
    let kind = match map.remove("kind") {
        Some(kind) => flow_kind(kind)?,
        None => {
            return Err(FieldError::at(
                "kind",
                format!(
                    "missing field `kind`: a flow names its kind, one of {}",
                    kind_list()
                ),
            ));
        }
    };
    Ok(head.with(flow_body(kind, Value::Object(map))?))
}

fn flow_kind(value: Value) -> Result<FlowKind, FieldError> {
    from_value(value).map_err(|e| FieldError::at("kind", e.message))
}

fn kind_list() -> String {
    FlowKind::ALL
        .iter()
        .map(|k| format!("`{}`", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The particulars of a flow of `kind`, from its fields less the envelope and `kind`.
pub(crate) fn flow_body(kind: FlowKind, body: Value) -> Result<Flow, FieldError> {
    Ok(match kind {
        FlowKind::Opening => Flow::Opening(from_value(body)?),
        FlowKind::Extract => Flow::Extract(from_value(body)?),
        FlowKind::Import => Flow::Import(from_value(body)?),
        FlowKind::Transform => Flow::Transform(from_value(body)?),
        FlowKind::Ship => Flow::Ship(from_value(body)?),
        FlowKind::Receive => Flow::Receive(from_value(body)?),
        FlowKind::Transfer => Flow::Transfer(from_value(body)?),
        FlowKind::Export => Flow::Export(from_value(body)?),
        FlowKind::Adjust => Flow::Adjust(from_value(body)?),
        FlowKind::Correction => Flow::Correction(from_value(body)?),
    })
}

/// The envelope of every act: the fields of [`ActRecord`] outside its flattened [`Act`].
#[derive(Deserialize)]
struct ActHead {
    #[serde(with = "time::serde::rfc3339")]
    effective: OffsetDateTime,
    /// Left out, it is the account that records the act (the server fills it in).
    #[serde(default)]
    official: String,
}

const ACT_HEAD: [&str; 2] = ["effective", "official"];

/// The act tokens dispatched here, field by field.
const ACTS: [&str; 4] = [
    "register_enterprise",
    "register_facility",
    "designate",
    "revoke_designation",
];

fn act_record(mut map: Map<String, Value>) -> Result<ActRecord, FieldError> {
    let token = map.get("act").and_then(Value::as_str).unwrap_or_default();
    if !ACTS.contains(&token) {
        // An act this dispatch does not know, or a tag that is no string: the domain's own
        // deserializer answers, listing the acts it knows.
        return from_value(Value::Object(map)).map_err(|e| FieldError {
            path: if e.path.is_empty() {
                "act".into()
            } else {
                e.path
            },
            message: e.message,
        });
    }
    let token = token.to_owned();
    let head: ActHead = from_value(split_off(&mut map, &ACT_HEAD))?;
    map.remove("act");
    let act = match token.as_str() {
        "register_enterprise" => Act::RegisterEnterprise(from_value(Value::Object(map))?),
        "register_facility" => Act::RegisterFacility(facility(map)?),
        "designate" => Act::Designate(from_value(Value::Object(map))?),
        // `ACTS` holds exactly the four tokens matched here.
        _ => Act::RevokeDesignation(from_value(Value::Object(map))?),
    };
    Ok(ActRecord {
        effective: head.effective,
        official: head.official,
        act,
    })
}

/// A facility, whose type-specific fields sit in a flattened, internally tagged enum that hides
/// the path of an error inside it; the field is then found by the value the message quotes.
fn facility(map: Map<String, Value>) -> Result<retrace_domain::facility::Facility, FieldError> {
    let fields = map.clone();
    from_value(Value::Object(map)).map_err(|mut e| {
        if e.path.is_empty() {
            e.path = field_quoted(&fields, &e.message).unwrap_or_default();
        }
        e
    })
}

/// The key of `fields` whose scalar value the message quotes in backticks.
fn field_quoted(fields: &Map<String, Value>, message: &str) -> Option<String> {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    fields.iter().find_map(|(key, value)| {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        quoted.contains(&text.as_str()).then(|| key.clone())
    })
}

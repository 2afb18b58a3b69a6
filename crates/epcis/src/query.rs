//! The standard query parameters of `GET /events` (EPCIS 2.0 §8.2.7.1, SimpleEventQuery, in
//! the REST binding's form: one URL parameter each, lists pipe-delimited), parsed into a
//! typed [`Query`], and the predicate [`matches`](fn@matches) over EPCIS event JSON, so that a store can
//! fetch candidates by its cheaper indexes and filter them exactly here; [`order`] sorts them
//! by `orderBy` and `orderDirection`.
//!
//! Identifiers are compared in canonical form ([`canonical_gs1_uri`]), so an EPC URN in the
//! query finds the same object written as a GS1 Digital Link in the event and back; CBV
//! values are compared as full URIs ([`Vocabulary::normalise`]), so `shipping`,
//! `cbv:BizStep-shipping` and `urn:epcglobal:cbv:bizstep:shipping` are one value (§8.2.7.1.1).

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::vocab::Vocabulary;
use crate::{Context, canonical_gs1_uri, canonical_value, extension};

/// The standard's `QueryParameterException` (EPCIS 2.0 §8.2.6): a parameter that is unknown,
/// given twice, or whose value is not what the standard allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("QueryParameterException: {parameter}: {reason}")]
pub struct QueryParameterError {
    /// The parameter as it was named.
    pub parameter: String,
    /// What is wrong and what to write instead.
    pub reason: String,
}

/// `orderDirection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `ASC`.
    Ascending,
    /// `DESC`, the default.
    #[default]
    Descending,
}

/// `orderBy`: `eventTime`, `recordTime`, or an extension field by its expanded name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderKey {
    /// `eventTime`.
    EventTime,
    /// `recordTime`.
    RecordTime,
    /// A top-level extension field, `{namespace}name`.
    Extension(String),
}

/// An identifier a `MATCH_` parameter names: one object or class, or, from an EPC pattern
/// URI (`urn:epc:idpat:sgtin:4012345.011111.*`), every object and class under a GTIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpcPattern {
    canonical: String,
    below: bool,
}

impl EpcPattern {
    fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("urn:epc:idpat:") {
            let canonical = canonical_gs1_uri(text).ok_or_else(|| {
                format!(
                    "{text:?} is not an EPC pattern this repository matches: write the company \
                     prefix and the reference, then `.*` (urn:epc:idpat:sgtin:4012345.011111.*)"
                )
            })?;
            return Ok(EpcPattern {
                canonical,
                below: true,
            });
        }
        Ok(EpcPattern {
            canonical: canonical_id(text),
            below: false,
        })
    }

    fn matches(&self, id: &str) -> bool {
        let id = canonical_id(id);
        id == self.canonical
            || (self.below
                && id
                    .strip_prefix(&self.canonical)
                    .is_some_and(|rest| rest.starts_with('/')))
    }
}

/// A condition on a field of the ILMD: `EQ_ILMD_<field>` (top level) or
/// `EQ_INNER_ILMD_<field>` (at any depth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IlmdCondition {
    /// The field's expanded name, `{namespace}name`.
    pub field: String,
    /// Whether the field may sit at any depth of the ILMD.
    pub inner: bool,
    /// The values it may have, canonical ([`canonical_value`]).
    pub values: Vec<String>,
}

/// A condition on the sources, destinations or business transactions of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedCondition {
    /// The CBV type as a full URI (`https://ref.gs1.org/cbv/SDT-owning_party`).
    pub kind: String,
    /// The identifiers it may name, canonical.
    pub values: Vec<String>,
}

/// A SimpleEventQuery. Empty lists and `None` constrain nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// `eventType`.
    pub event_types: Vec<String>,
    /// `GE_eventTime`.
    pub ge_event_time: Option<OffsetDateTime>,
    /// `LT_eventTime`.
    pub lt_event_time: Option<OffsetDateTime>,
    /// `GE_recordTime`.
    pub ge_record_time: Option<OffsetDateTime>,
    /// `LT_recordTime`.
    pub lt_record_time: Option<OffsetDateTime>,
    /// `EQ_action`.
    pub actions: Vec<String>,
    /// `EQ_bizStep`, full URIs.
    pub biz_steps: Vec<String>,
    /// `EQ_disposition`, full URIs.
    pub dispositions: Vec<String>,
    /// `EQ_readPoint`, canonical.
    pub read_points: Vec<String>,
    /// `WD_readPoint`, canonical.
    pub within_read_points: Vec<String>,
    /// `EQ_bizLocation`, canonical.
    pub biz_locations: Vec<String>,
    /// `WD_bizLocation`, canonical.
    pub within_biz_locations: Vec<String>,
    /// `MATCH_epc`: `epcList` and `childEPCs`.
    pub match_epc: Vec<EpcPattern>,
    /// `MATCH_parentID`.
    pub match_parent_id: Vec<EpcPattern>,
    /// `MATCH_inputEPC`.
    pub match_input_epc: Vec<EpcPattern>,
    /// `MATCH_outputEPC`.
    pub match_output_epc: Vec<EpcPattern>,
    /// `MATCH_anyEPC`.
    pub match_any_epc: Vec<EpcPattern>,
    /// `MATCH_epcClass`: `quantityList` and `childQuantityList`.
    pub match_epc_class: Vec<EpcPattern>,
    /// `MATCH_inputEPCClass`.
    pub match_input_epc_class: Vec<EpcPattern>,
    /// `MATCH_outputEPCClass`.
    pub match_output_epc_class: Vec<EpcPattern>,
    /// `MATCH_anyEPCClass`.
    pub match_any_epc_class: Vec<EpcPattern>,
    /// `EQ_source_<type>`, one per type.
    pub sources: Vec<TypedCondition>,
    /// `EQ_destination_<type>`.
    pub destinations: Vec<TypedCondition>,
    /// `EQ_bizTransaction_<type>`.
    pub biz_transactions: Vec<TypedCondition>,
    /// `EQ_eventID`.
    pub event_ids: Vec<String>,
    /// `EXISTS_errorDeclaration`.
    pub exists_error_declaration: bool,
    /// `EQ_ILMD_<field>`, `EQ_INNER_ILMD_<field>`.
    pub ilmd: Vec<IlmdCondition>,
    /// `orderBy`.
    pub order_by: Option<OrderKey>,
    /// `orderDirection`.
    pub order_direction: Direction,
    /// `eventCountLimit`: the first N of the ordered result.
    pub event_count_limit: Option<usize>,
    /// `maxEventCount`: more than N is a `QueryTooLargeException`, the store's to raise.
    pub max_event_count: Option<usize>,
    /// `perPage`, 30 unless given (REST binding).
    pub per_page: usize,
    /// `nextPageToken`, opaque to this crate.
    pub next_page_token: Option<String>,
}

/// `perPage` when none is given (REST binding, `PerPage`).
pub const DEFAULT_PER_PAGE: usize = 30;

const CBV_EVENT_TYPES: [&str; 5] = [
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
];

impl Query {
    /// Parses the URL query parameters of `GET /events` (already percent-decoded), with
    /// `context` for the prefixes of `EQ_ILMD_` field names (the `rareearth` prefix is
    /// always known).
    ///
    /// # Errors
    ///
    /// A [`QueryParameterError`] naming the first parameter that is unknown, repeated, or
    /// has a value the standard does not allow, and what to write instead.
    pub fn parse(
        parameters: &[(String, String)],
        context: &Context,
    ) -> Result<Query, QueryParameterError> {
        let mut context = context.clone();
        context
            .extend(&serde_json::json!({ extension::PREFIX: extension::NAMESPACE }))
            .unwrap_or_else(|_| unreachable!("a prefix bound to a string is a valid context"));
        let mut query = Query {
            per_page: DEFAULT_PER_PAGE,
            ..Query::default()
        };
        let mut seen = std::collections::BTreeSet::new();
        for (name, value) in parameters {
            if !seen.insert(name.as_str()) {
                return Err(wrong(
                    name,
                    "is given twice: give it once, with values separated by |",
                ));
            }
            query.set(name, value, &context)?;
        }
        if query.event_count_limit.is_some() && query.max_event_count.is_some() {
            return Err(wrong(
                "eventCountLimit",
                "cannot be given with maxEventCount: give one of them",
            ));
        }
        if query.event_count_limit.is_some() && query.order_by.is_none() {
            return Err(wrong(
                "eventCountLimit",
                "needs orderBy, which decides which events come first",
            ));
        }
        Ok(query)
    }

    fn set(
        &mut self,
        name: &str,
        value: &str,
        context: &Context,
    ) -> Result<(), QueryParameterError> {
        let list = || values(name, value);
        let ids = || Ok::<_, QueryParameterError>(list()?.into_iter().map(canonical_id).collect());
        let patterns = || {
            list()?
                .into_iter()
                .map(|v| EpcPattern::parse(v).map_err(|reason| wrong(name, &reason)))
                .collect::<Result<Vec<_>, _>>()
        };
        let vocab = |vocabulary: Vocabulary| {
            Ok::<_, QueryParameterError>(
                list()?
                    .into_iter()
                    .map(|v| vocabulary.normalise(v, context))
                    .collect(),
            )
        };
        match name {
            "eventType" => {
                self.event_types = list()?.into_iter().map(str::to_owned).collect();
                if let Some(bad) = self
                    .event_types
                    .iter()
                    .find(|t| !CBV_EVENT_TYPES.contains(&t.as_str()) && !t.contains(':'))
                {
                    return Err(wrong(
                        name,
                        &format!(
                            "{bad:?} is no event type: write ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent or an extension type's URI"
                        ),
                    ));
                }
            }
            "GE_eventTime" => self.ge_event_time = Some(time(name, value)?),
            "LT_eventTime" => self.lt_event_time = Some(time(name, value)?),
            "GE_recordTime" => self.ge_record_time = Some(time(name, value)?),
            "LT_recordTime" => self.lt_record_time = Some(time(name, value)?),
            "EQ_action" => {
                self.actions = list()?.into_iter().map(str::to_owned).collect();
                if let Some(bad) = self
                    .actions
                    .iter()
                    .find(|a| !["ADD", "OBSERVE", "DELETE"].contains(&a.as_str()))
                {
                    return Err(wrong(
                        name,
                        &format!("{bad:?}: write ADD, OBSERVE or DELETE"),
                    ));
                }
            }
            "EQ_bizStep" => self.biz_steps = vocab(Vocabulary::BizStep)?,
            "EQ_disposition" => self.dispositions = vocab(Vocabulary::Disposition)?,
            "EQ_readPoint" => self.read_points = ids()?,
            "WD_readPoint" => self.within_read_points = ids()?,
            "EQ_bizLocation" => self.biz_locations = ids()?,
            "WD_bizLocation" => self.within_biz_locations = ids()?,
            "MATCH_epc" => self.match_epc = patterns()?,
            "MATCH_parentID" => self.match_parent_id = patterns()?,
            "MATCH_inputEPC" => self.match_input_epc = patterns()?,
            "MATCH_outputEPC" => self.match_output_epc = patterns()?,
            "MATCH_anyEPC" => self.match_any_epc = patterns()?,
            "MATCH_epcClass" => self.match_epc_class = patterns()?,
            "MATCH_inputEPCClass" => self.match_input_epc_class = patterns()?,
            "MATCH_outputEPCClass" => self.match_output_epc_class = patterns()?,
            "MATCH_anyEPCClass" => self.match_any_epc_class = patterns()?,
            "EQ_eventID" => self.event_ids = list()?.into_iter().map(str::to_owned).collect(),
            "EXISTS_errorDeclaration" => {
                self.exists_error_declaration = match value {
                    "" | "true" => true,
                    "false" => false,
                    _ => return Err(wrong(name, "write true or false, or no value")),
                };
            }
            "orderBy" => {
                self.order_by = Some(match value {
                    "eventTime" => OrderKey::EventTime,
                    "recordTime" => OrderKey::RecordTime,
                    field => OrderKey::Extension(field_name(name, field, context)?),
                });
            }
            "orderDirection" => {
                self.order_direction = match value {
                    "ASC" => Direction::Ascending,
                    "DESC" => Direction::Descending,
                    _ => return Err(wrong(name, "write ASC or DESC")),
                };
            }
            "eventCountLimit" => self.event_count_limit = Some(count(name, value, 0)?),
            "maxEventCount" => self.max_event_count = Some(count(name, value, 0)?),
            "perPage" => self.per_page = count(name, value, 1)?,
            "nextPageToken" => self.next_page_token = Some(value.to_owned()),
            _ => return self.set_patterned(name, value, context),
        }
        Ok(())
    }

    /// The parameters whose names carry a type or a field: `EQ_source_<type>`,
    /// `EQ_destination_<type>`, `EQ_bizTransaction_<type>`, `EQ_ILMD_<field>`,
    /// `EQ_INNER_ILMD_<field>`.
    fn set_patterned(
        &mut self,
        name: &str,
        value: &str,
        context: &Context,
    ) -> Result<(), QueryParameterError> {
        let typed = |kind: &str, vocabulary: Vocabulary| {
            if kind.is_empty() {
                return Err(wrong(
                    name,
                    "name the type after the underscore, e.g. EQ_source_owning_party",
                ));
            }
            Ok(TypedCondition {
                kind: vocabulary.normalise(kind, context),
                values: values(name, value)?.into_iter().map(canonical_id).collect(),
            })
        };
        if let Some(kind) = name.strip_prefix("EQ_source_") {
            self.sources
                .push(typed(kind, Vocabulary::SourceDestinationType)?);
        } else if let Some(kind) = name.strip_prefix("EQ_destination_") {
            self.destinations
                .push(typed(kind, Vocabulary::SourceDestinationType)?);
        } else if let Some(kind) = name.strip_prefix("EQ_bizTransaction_") {
            self.biz_transactions
                .push(typed(kind, Vocabulary::BizTransactionType)?);
        } else if let Some((field, inner)) = name
            .strip_prefix("EQ_INNER_ILMD_")
            .map(|f| (f, true))
            .or_else(|| name.strip_prefix("EQ_ILMD_").map(|f| (f, false)))
        {
            self.ilmd.push(IlmdCondition {
                field: field_name(name, field, context)?,
                inner,
                values: values(name, value)?
                    .into_iter()
                    .map(canonical_value)
                    .collect(),
            });
        } else {
            return Err(wrong(
                name,
                "is not a query parameter this repository answers: see EPCIS 2.0 §8.2.7.1 \
                 for the names (eventType, GE_eventTime, EQ_bizStep, MATCH_epc, …)",
            ));
        }
        Ok(())
    }
}

fn wrong(parameter: &str, reason: &str) -> QueryParameterError {
    QueryParameterError {
        parameter: parameter.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A pipe-delimited list (REST binding, `style: pipeDelimited`), none of its items empty.
fn values<'a>(name: &str, value: &'a str) -> Result<Vec<&'a str>, QueryParameterError> {
    let items: Vec<&str> = value.split('|').map(str::trim).collect();
    if items.iter().any(|item| item.is_empty()) {
        return Err(wrong(
            name,
            "has an empty value: give one or more values separated by |",
        ));
    }
    Ok(items)
}

fn time(name: &str, value: &str) -> Result<OffsetDateTime, QueryParameterError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        wrong(
            name,
            "write a date-time with its offset, e.g. 2025-03-01T00:00:00+08:00",
        )
    })
}

fn count(name: &str, value: &str, min: usize) -> Result<usize, QueryParameterError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| wrong(name, &format!("write a whole number of at least {min}")))
}

/// A field name `prefix:name` as `{namespace}name`; the prefix must be known.
fn field_name(
    parameter: &str,
    field: &str,
    context: &Context,
) -> Result<String, QueryParameterError> {
    let expanded = context.expand_name(field);
    if expanded.starts_with('{') {
        Ok(expanded)
    } else {
        Err(wrong(
            parameter,
            &format!(
                "the field {field:?} needs a known namespace prefix, e.g. {}:product",
                extension::PREFIX
            ),
        ))
    }
}

/// An identifier in the form queries compare: canonical GS1 Digital Link where it carries a
/// GS1 key, else as written.
fn canonical_id(id: &str) -> String {
    canonical_gs1_uri(id.trim()).unwrap_or_else(|| id.trim().to_owned())
}

/// Whether `event` satisfies every condition of `query` (EPCIS 2.0 §8.2.7.1). `within`
/// answers `WD_readPoint` and `WD_bizLocation`: whether a location is a direct or indirect
/// descendant of another in the master data's hierarchy (§6.5), both canonical.
pub fn matches(query: &Query, event: &Value, within: &dyn Fn(&str, &str) -> bool) -> bool {
    let mut context = extension::context();
    if let Some(local) = event.get("@context")
        && context.extend(local).is_err()
    {
        return false;
    }
    let string = |name: &str| event.get(name).and_then(Value::as_str);
    let in_list = |list: &[String], value: Option<String>| {
        list.is_empty() || value.is_some_and(|v| list.contains(&v))
    };
    let time_of = |name: &str| string(name).and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
    let in_range = |ge: Option<OffsetDateTime>, lt: Option<OffsetDateTime>, name: &str| {
        if ge.is_none() && lt.is_none() {
            return true;
        }
        time_of(name).is_some_and(|t| ge.is_none_or(|ge| t >= ge) && lt.is_none_or(|lt| t < lt))
    };
    let location = |name: &str| {
        event
            .get(name)
            .and_then(|l| l.get("id"))
            .and_then(Value::as_str)
            .map(canonical_id)
    };
    let located = |exact: &[String], below: &[String], name: &str| {
        if exact.is_empty() && below.is_empty() {
            return true;
        }
        location(name).is_some_and(|id| {
            exact.contains(&id)
                || below
                    .iter()
                    .any(|ancestor| *ancestor == id || within(&id, ancestor))
        })
    };
    in_list(&query.event_types, string("type").map(str::to_owned))
        && in_range(query.ge_event_time, query.lt_event_time, "eventTime")
        && in_range(query.ge_record_time, query.lt_record_time, "recordTime")
        && in_list(&query.actions, string("action").map(str::to_owned))
        && in_list(
            &query.biz_steps,
            string("bizStep").map(|s| Vocabulary::BizStep.normalise(s, &context)),
        )
        && in_list(
            &query.dispositions,
            string("disposition").map(|s| Vocabulary::Disposition.normalise(s, &context)),
        )
        && located(&query.read_points, &query.within_read_points, "readPoint")
        && located(
            &query.biz_locations,
            &query.within_biz_locations,
            "bizLocation",
        )
        && epcs_match(query, event)
        && query.sources.iter().all(|c| {
            typed_match(
                c,
                event,
                "sourceList",
                "source",
                Vocabulary::SourceDestinationType,
                &context,
            )
        })
        && query.destinations.iter().all(|c| {
            typed_match(
                c,
                event,
                "destinationList",
                "destination",
                Vocabulary::SourceDestinationType,
                &context,
            )
        })
        && query.biz_transactions.iter().all(|c| {
            typed_match(
                c,
                event,
                "bizTransactionList",
                "bizTransaction",
                Vocabulary::BizTransactionType,
                &context,
            )
        })
        && in_list(&query.event_ids, string("eventID").map(str::to_owned))
        && (!query.exists_error_declaration || event.get("errorDeclaration").is_some())
        && query.ilmd.iter().all(|c| {
            event
                .get("ilmd")
                .is_some_and(|ilmd| ilmd_match(c, ilmd, &context))
        })
}

/// The identifiers of `fields` of an event: lists of EPCs, a single `parentID`, or the
/// `epcClass` of quantity lists.
fn ids<'a>(event: &'a Value, fields: &[&str]) -> Vec<&'a str> {
    let mut ids = Vec::new();
    for field in fields {
        match event.get(*field) {
            Some(Value::String(id)) => ids.push(id.as_str()),
            Some(Value::Array(items)) => ids.extend(items.iter().filter_map(|item| {
                item.as_str()
                    .or_else(|| item.get("epcClass").and_then(Value::as_str))
            })),
            _ => {}
        }
    }
    ids
}

fn epcs_match(query: &Query, event: &Value) -> bool {
    let rules: [(&[EpcPattern], &[&str]); 9] = [
        (&query.match_epc, &["epcList", "childEPCs"]),
        (&query.match_parent_id, &["parentID"]),
        (&query.match_input_epc, &["inputEPCList"]),
        (&query.match_output_epc, &["outputEPCList"]),
        (
            &query.match_any_epc,
            &[
                "epcList",
                "childEPCs",
                "parentID",
                "inputEPCList",
                "outputEPCList",
            ],
        ),
        (
            &query.match_epc_class,
            &["quantityList", "childQuantityList"],
        ),
        (&query.match_input_epc_class, &["inputQuantityList"]),
        (&query.match_output_epc_class, &["outputQuantityList"]),
        (
            &query.match_any_epc_class,
            &[
                "quantityList",
                "childQuantityList",
                "inputQuantityList",
                "outputQuantityList",
            ],
        ),
    ];
    rules.iter().all(|(patterns, fields)| {
        patterns.is_empty()
            || ids(event, fields)
                .into_iter()
                .any(|id| patterns.iter().any(|p| p.matches(id)))
    })
}

fn typed_match(
    condition: &TypedCondition,
    event: &Value,
    list: &str,
    member: &str,
    vocabulary: Vocabulary,
    context: &Context,
) -> bool {
    let items = match event.get(list) {
        Some(Value::Array(items)) => items.as_slice(),
        Some(single) => std::slice::from_ref(single),
        None => &[],
    };
    items.iter().any(|item| {
        let kind = item.get("type").and_then(Value::as_str);
        kind.is_some_and(|k| vocabulary.normalise(k, context) == condition.kind)
            && item
                .get(member)
                .and_then(Value::as_str)
                .is_some_and(|id| condition.values.contains(&canonical_id(id)))
    })
}

/// Whether an ILMD field named as the condition has one of its values.
fn ilmd_match(condition: &IlmdCondition, value: &Value, context: &Context) -> bool {
    let Value::Object(fields) = value else {
        return condition.inner
            && value.as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|item| ilmd_match(condition, item, context))
            });
    };
    fields.iter().any(|(name, member)| {
        (context.expand_name(name) == condition.field && value_matches(&condition.values, member))
            || (condition.inner && ilmd_match(condition, member, context))
    })
}

fn value_matches(values: &[String], member: &Value) -> bool {
    match member {
        Value::Array(items) => items.iter().any(|item| value_matches(values, item)),
        Value::String(text) => values.contains(&canonical_value(text)),
        Value::Number(number) => values.contains(&canonical_value(&number.to_string())),
        Value::Bool(flag) => values.contains(&flag.to_string()),
        _ => false,
    }
}

/// Sorts events as `orderBy` and `orderDirection` ask; without `orderBy` their order is left
/// as it is (the standard leaves it to the implementation). Events without the field come
/// last either way.
pub fn order(query: &Query, events: &mut [Value]) {
    let Some(key) = &query.order_by else {
        return;
    };
    let context = extension::context();
    let sort_key = |event: &Value| -> Option<Key> {
        let value = match key {
            OrderKey::EventTime => event.get("eventTime"),
            OrderKey::RecordTime => event.get("recordTime"),
            OrderKey::Extension(field) => event
                .as_object()?
                .iter()
                .find(|(name, _)| context.expand_name(name) == *field)
                .map(|(_, value)| value),
        }?;
        Key::of(value)
    };
    events.sort_by(|a, b| match (sort_key(a), sort_key(b)) {
        (Some(a), Some(b)) => match query.order_direction {
            Direction::Ascending => a.compare(&b),
            Direction::Descending => b.compare(&a),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
}

/// A value to order by: a time, a number, or text (EPCIS 2.0 §8.2.7.1, `orderBy`: Int,
/// Float, Time and String fields).
enum Key {
    Time(OffsetDateTime),
    Number(f64),
    Text(String),
}

impl Key {
    fn of(value: &Value) -> Option<Key> {
        match value {
            Value::Number(n) => n.as_f64().map(Key::Number),
            Value::String(s) => Some(match OffsetDateTime::parse(s, &Rfc3339) {
                Ok(t) => Key::Time(t),
                Err(_) => Key::Text(s.clone()),
            }),
            _ => None,
        }
    }

    /// Times before numbers before text when a field holds several kinds.
    fn compare(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Time(a), Key::Time(b)) => a.cmp(b),
            (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Time(_) => 0,
            Key::Number(_) => 1,
            Key::Text(_) => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Query, QueryParameterError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let mut context = Context::epcis();
        context
            .extend(&json!({"example": "https://ns.example.com/epcis/"}))
            .unwrap();
        Query::parse(&pairs, &context)
    }

    fn event() -> Value {
        json!({
            "type": "ObjectEvent",
            "eventTime": "2025-03-04T10:00:00+08:00",
            "recordTime": "2025-03-04T02:05:00Z",
            "eventTimeZoneOffset": "+08:00",
            "eventID": "urn:uuid:5b1bf9d4-2a3c-4b8e-9d9e-111111111111",
            "epcList": ["https://id.gs1.org/01/04012345111118/21/9876"],
            "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200, "uom": "KGM"}],
            "action": "OBSERVE",
            "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
            "disposition": "in_transit",
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
            "bizLocation": {"id": "https://id.gs1.org/414/4012345000023"},
            "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
            "bizTransactionList": [{"type": "bol", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:WB7"}],
            "ilmd": {"example:lot": {"example:grade": "50.20"}, "example:origin": "CN"},
            "@context": [{"example": "https://ns.example.com/epcis/"}],
        })
    }

    fn nowhere(_: &str, _: &str) -> bool {
        false
    }

    fn hits(pairs: &[(&str, &str)]) -> bool {
        matches(&parse(pairs).unwrap(), &event(), &nowhere)
    }

    #[test]
    fn every_standard_parameter_selects() {
        for (name, yes, no) in [
            (
                "eventType",
                "ObjectEvent|TransformationEvent",
                "AggregationEvent",
            ),
            (
                "GE_eventTime",
                "2025-03-04T10:00:00+08:00",
                "2025-03-04T10:00:01+08:00",
            ),
            (
                "LT_eventTime",
                "2025-03-04T02:00:01Z",
                "2025-03-04T02:00:00Z",
            ),
            (
                "GE_recordTime",
                "2025-03-04T02:05:00Z",
                "2025-03-04T02:06:00Z",
            ),
            (
                "LT_recordTime",
                "2025-03-05T00:00:00Z",
                "2025-03-04T00:00:00Z",
            ),
            ("EQ_action", "ADD|OBSERVE", "DELETE"),
            ("EQ_bizStep", "shipping", "receiving"),
            (
                "EQ_disposition",
                "https://ref.gs1.org/cbv/Disp-in_transit",
                "active",
            ),
            (
                "EQ_readPoint",
                "https://id.gs1.org/414/4012345000016",
                "urn:epc:id:sgln:4012345.00002.0",
            ),
            (
                "EQ_bizLocation",
                "urn:epc:id:sgln:4012345.00002.0",
                "urn:epc:id:sgln:4012345.00001.0",
            ),
            (
                "MATCH_epc",
                "urn:epc:id:sgtin:4012345.011111.9876",
                "urn:epc:id:sgtin:4012345.011111.9877",
            ),
            (
                "MATCH_epc",
                "urn:epc:idpat:sgtin:4012345.011111.*",
                "urn:epc:idpat:sgtin:4012345.011112.*",
            ),
            (
                "MATCH_anyEPC",
                "https://id.gs1.org/01/04012345111118/21/9876",
                "urn:epc:id:sscc:4012345.0000000333",
            ),
            (
                "MATCH_epcClass",
                "https://id.gs1.org/01/04012345123456/10/998877",
                "https://id.gs1.org/01/04012345123456/10/1",
            ),
            (
                "MATCH_anyEPCClass",
                "urn:epc:idpat:sgtin:4012345.012345.*",
                "urn:epc:idpat:sgtin:4012345.011111.*",
            ),
            (
                "MATCH_inputEPCClass",
                "never",
                "urn:epc:class:lgtin:4012345.012345.998877",
            ),
            (
                "EQ_source_owning_party",
                "https://id.gs1.org/417/4012345000009",
                "urn:epc:id:pgln:4012345.00001",
            ),
            (
                "EQ_destination_owning_party",
                "never",
                "urn:epc:id:pgln:4012345.00000",
            ),
            (
                "EQ_bizTransaction_bol",
                "urn:epcglobal:cbv:bt:4012345000009:WB7",
                "urn:epcglobal:cbv:bt:4012345000009:WB8",
            ),
            (
                "EQ_eventID",
                "urn:uuid:5b1bf9d4-2a3c-4b8e-9d9e-111111111111",
                "urn:uuid:2",
            ),
            ("EQ_ILMD_example:origin", "CN|JP", "JP"),
            ("EQ_INNER_ILMD_example:grade", "50.2", "50.3"),
        ] {
            if yes != "never" {
                assert!(hits(&[(name, yes)]), "{name}={yes}");
            }
            assert!(!hits(&[(name, no)]), "{name}={no}");
        }
        assert!(
            !hits(&[("EQ_ILMD_example:grade", "50.2")]),
            "EQ_ILMD_ is top level only"
        );
        assert!(!hits(&[("EXISTS_errorDeclaration", "")]));
        assert!(hits(&[("EXISTS_errorDeclaration", "false")]));
        assert!(hits(&[]));
    }

    #[test]
    fn within_asks_the_hierarchy() {
        let plant = "https://id.gs1.org/414/4012345000023";
        let query = parse(&[("WD_bizLocation", "https://example.com/site/baotou")]).unwrap();
        let inside = |location: &str, ancestor: &str| {
            location == plant && ancestor == "https://example.com/site/baotou"
        };
        assert!(matches(&query, &event(), &inside));
        assert!(!matches(&query, &event(), &nowhere));
        let itself = parse(&[("WD_bizLocation", plant)]).unwrap();
        assert!(matches(&itself, &event(), &nowhere));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (pairs, parameter, says) in [
            (
                vec![("EQ_action", "MOVE")],
                "EQ_action",
                "ADD, OBSERVE or DELETE",
            ),
            (
                vec![("GE_eventTime", "yesterday")],
                "GE_eventTime",
                "offset",
            ),
            (vec![("eventType", "Thing")], "eventType", "no event type"),
            (vec![("EQ_bizStep", "a||b")], "EQ_bizStep", "empty value"),
            (vec![("perPage", "0")], "perPage", "at least 1"),
            (
                vec![("orderDirection", "UP")],
                "orderDirection",
                "ASC or DESC",
            ),
            (
                vec![("eventCountLimit", "1")],
                "eventCountLimit",
                "needs orderBy",
            ),
            (
                vec![
                    ("orderBy", "eventTime"),
                    ("eventCountLimit", "1"),
                    ("maxEventCount", "5"),
                ],
                "eventCountLimit",
                "maxEventCount",
            ),
            (
                vec![("EQ_ILMD_unknown:field", "1")],
                "EQ_ILMD_unknown:field",
                "namespace prefix",
            ),
            (vec![("EQ_source_", "x")], "EQ_source_", "name the type"),
            (
                vec![("MATCH_epc", "urn:epc:idpat:sgtin:4012345.*.*")],
                "MATCH_epc",
                "company prefix",
            ),
            (
                vec![("EQ_quantity", "5")],
                "EQ_quantity",
                "not a query parameter",
            ),
            (
                vec![("EQ_action", "ADD"), ("EQ_action", "OBSERVE")],
                "EQ_action",
                "twice",
            ),
        ] {
            let error = parse(&pairs).unwrap_err();
            assert_eq!(error.parameter, parameter, "{error}");
            assert!(error.reason.contains(says), "{error}");
            assert!(error.to_string().starts_with("QueryParameterException: "));
        }
    }

    #[test]
    fn paging_and_limits() {
        let query = parse(&[
            ("orderBy", "rareearth:gradePercent"),
            ("orderDirection", "ASC"),
            ("eventCountLimit", "2"),
            ("perPage", "100"),
            ("nextPageToken", "abc"),
        ])
        .unwrap();
        assert_eq!(
            query.order_by,
            Some(OrderKey::Extension(format!(
                "{{{}}}gradePercent",
                extension::NAMESPACE
            )))
        );
        assert_eq!((query.event_count_limit, query.per_page), (Some(2), 100));
        assert_eq!(query.next_page_token.as_deref(), Some("abc"));
        assert_eq!(parse(&[]).unwrap().per_page, DEFAULT_PER_PAGE);
    }

    #[test]
    fn ordering() {
        let at = |time: &str, grade: Option<f64>| {
            let mut event = json!({"eventTime": time});
            if let Some(grade) = grade {
                event["rareearth:gradePercent"] = json!(grade);
            }
            event
        };
        let mut events = vec![
            at("2025-03-04T10:00:00+08:00", Some(50.2)),
            at("2025-03-04T01:00:00Z", None),
            at("2025-03-04T04:30:00+02:00", Some(9.5)),
        ];
        order(&parse(&[("orderBy", "eventTime")]).unwrap(), &mut events);
        let times: Vec<&str> = events
            .iter()
            .map(|e| e["eventTime"].as_str().unwrap())
            .collect();
        assert_eq!(
            times,
            [
                "2025-03-04T04:30:00+02:00",
                "2025-03-04T10:00:00+08:00",
                "2025-03-04T01:00:00Z"
            ],
            "DESC by instant, not by text"
        );
        order(
            &parse(&[
                ("orderBy", "rareearth:gradePercent"),
                ("orderDirection", "ASC"),
            ])
            .unwrap(),
            &mut events,
        );
        let grades: Vec<Option<f64>> = events
            .iter()
            .map(|e| e["rareearth:gradePercent"].as_f64())
            .collect();
        assert_eq!(grades, [Some(9.5), Some(50.2), None], "missing last");
    }
}

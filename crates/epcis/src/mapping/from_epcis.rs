//! An EPCIS 2.0 event as a record (the table in [the `mapping` module](super)).

use std::collections::BTreeMap;

use retrace_domain::distribution::ElementDistribution;
use retrace_domain::element::Element;
use retrace_domain::flow::{
    Adjust, Correction, Export, Extract, Flow, FlowEvent, FlowKind, Import, NewLot, Opening,
    Receive, Ship, Transfer, Transform, TransformInput,
};
use retrace_domain::lot::LotId;
use retrace_domain::measurement::{AssayCertificate, Measurement};
use retrace_domain::product::ProductCode;
use retrace_domain::quantity::{Mass, MassChange, Share};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::{Entries, Mapped, MappingError, pointer};
use crate::extension::{self, NAMESPACE, PREFIX};
use crate::identifier::{self, Document};
use crate::quantity;
use crate::vocab::Vocabulary;
use crate::{Context, event_hash_id};

/// The record an EPCIS 2.0 event stands for, read with the `@context` of its document
/// (and its own).
///
/// An event that has no `rareearth` field — at its top level, in its ILMD or in its
/// error declaration — is [`Mapped::General`]. One that has is a flow, named by
/// `rareearth:flow`, and must follow the mapping; an error declaration on it is a
/// correction of the ledger entry holding the declared event, which `entries` finds by the
/// event's `eventID` or, failing that, its Event Hash ID (which the declaration does not
/// change, CBV 2.0 §8.9).
///
/// The event is expected to be valid EPCIS (see [`crate::schema`]); this checks only what
/// the flow needs.
///
/// # Errors
///
/// A [`MappingError`] naming the JSON pointer of the first offending value and what to
/// write instead.
pub fn from_epcis(
    event: &Value,
    context: &Context,
    entries: &dyn Entries,
) -> Result<Mapped, MappingError> {
    let scoped;
    let context = match event.get("@context") {
        Some(local) => {
            let mut extended = context.clone();
            extended
                .extend(local)
                .map_err(|e| error(&pointer("", "@context"), e.to_string()))?;
            scoped = extended;
            &scoped
        }
        None => context,
    };
    let root = Owned {
        at: String::new(),
        value: event,
    };
    let event = Obj::of(&root, context)?;
    let ilmd = event.standard("ilmd");
    let declaration = event.standard("errorDeclaration");
    let mut claims = false;
    for holder in [Some(&event), ilmd.as_ref(), declaration.as_ref()]
        .into_iter()
        .flatten()
    {
        claims |= holder.claims_extension()?;
    }
    if !claims {
        return Ok(Mapped::General);
    }
    if let Some(declaration) = declaration {
        return correction(&event, &declaration, entries).map(record);
    }
    let kind_field = event.need_ext("flow")?;
    let kind: FlowKind = kind_field.token("a flow kind")?;
    let flow = match kind {
        FlowKind::Opening => Flow::Opening(opening(&event)?),
        FlowKind::Extract => Flow::Extract(extract(&event)?),
        FlowKind::Import => Flow::Import(import(&event)?),
        FlowKind::Transform => Flow::Transform(transform(&event)?),
        FlowKind::Ship => Flow::Ship(ship(&event)?),
        FlowKind::Receive => Flow::Receive(receive(&event)?),
        FlowKind::Transfer => Flow::Transfer(transfer(&event)?),
        FlowKind::Export => Flow::Export(export(&event)?),
        FlowKind::Adjust => Flow::Adjust(adjust(&event)?),
        FlowKind::Correction => {
            return Err(error(
                &kind_field.at,
                "a correction is an error declaration: repeat the corrected event with an \
                 errorDeclaration instead of naming the flow `correction`",
            ));
        }
    };
    Ok(record(FlowEvent {
        event_time: event_time(&event)?,
        enterprise: event.need_ext("enterprise")?.party()?,
        facility: facility(&event)?,
        reference: event.ext_string("reference")?,
        flow,
    }))
}

fn record(flow: FlowEvent) -> Mapped {
    Mapped::Record(Box::new(Record::Flow(flow)))
}

fn error(at: &str, reason: impl Into<String>) -> MappingError {
    MappingError {
        pointer: at.to_owned(),
        reason: reason.into(),
    }
}

/// A value of the event and its JSON pointer.
struct Owned<'a> {
    at: String,
    value: &'a Value,
}

impl<'a> Owned<'a> {
    fn str(&self) -> Result<&'a str, MappingError> {
        self.value
            .as_str()
            .ok_or_else(|| error(&self.at, "write a string"))
    }

    fn number(&self) -> Result<&'a Number, MappingError> {
        self.value
            .as_number()
            .ok_or_else(|| error(&self.at, "write a number"))
    }

    fn array(&self) -> Result<&'a [Value], MappingError> {
        self.value
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| error(&self.at, "write a list"))
    }

    fn items(&self) -> Result<Vec<Owned<'a>>, MappingError> {
        Ok(self
            .array()?
            .iter()
            .enumerate()
            .map(|(i, value)| Owned {
                at: format!("{}/{i}", self.at),
                value,
            })
            .collect())
    }

    fn percent(&self) -> Result<Share, MappingError> {
        quantity::parse_percent(self.number()?).map_err(|reason| error(&self.at, reason))
    }

    fn party(&self) -> Result<Uscc, MappingError> {
        identifier::parse_party(self.str()?).map_err(|reason| error(&self.at, reason))
    }

    fn lot(&self) -> Result<LotId, MappingError> {
        identifier::parse_lot_class(self.str()?).map_err(|reason| error(&self.at, reason))
    }

    /// A domain enum by its serde token; serde's message lists the tokens allowed.
    fn token<T: DeserializeOwned>(&self, what: &str) -> Result<T, MappingError> {
        serde_json::from_value(self.value.clone())
            .map_err(|e| error(&self.at, format!("write {what}: {e}")))
    }
}

/// An object of the event, its members found by expanded name.
struct Obj<'a> {
    at: String,
    map: &'a Map<String, Value>,
    context: &'a Context,
}

impl<'a> Obj<'a> {
    fn of(owned: &Owned<'a>, context: &'a Context) -> Result<Self, MappingError> {
        let map = owned
            .value
            .as_object()
            .ok_or_else(|| error(&owned.at, "write a JSON object"))?;
        Ok(Obj {
            at: owned.at.clone(),
            map,
            context,
        })
    }

    /// Whether any member is a `rareearth` field. A member written `rareearth:…` whose prefix
    /// the context binds elsewhere (or not at all) is refused rather than read as a general
    /// field, since the writer meant the extension.
    fn claims_extension(&self) -> Result<bool, MappingError> {
        let mut claims = false;
        for name in self.map.keys() {
            if extension::is_rare_earth(self.context, name) {
                claims = true;
            } else if name.starts_with(&format!("{PREFIX}:")) {
                return Err(error(
                    &pointer(&self.at, name),
                    format!(
                        "the prefix `{PREFIX}` is not bound to {NAMESPACE}: add \
                         {{\"{PREFIX}\": \"{NAMESPACE}\"}} to the document's @context"
                    ),
                ));
            }
        }
        Ok(claims)
    }

    fn standard(&self, name: &str) -> Option<Obj<'a>> {
        let value = self.map.get(name)?;
        Some(Obj {
            at: pointer(&self.at, name),
            map: value.as_object()?,
            context: self.context,
        })
    }

    fn std_field(&self, name: &str) -> Option<Owned<'a>> {
        self.map.get(name).map(|value| Owned {
            at: pointer(&self.at, name),
            value,
        })
    }

    fn need_std(&self, name: &str, what: &str) -> Result<Owned<'a>, MappingError> {
        self.std_field(name)
            .ok_or_else(|| error(&pointer(&self.at, name), format!("missing: write {what}")))
    }

    fn ext(&self, local: &str) -> Option<Owned<'a>> {
        let wanted = extension::expanded(local);
        self.map
            .iter()
            .find(|(name, _)| self.context.expand_name(name) == wanted)
            .map(|(name, value)| Owned {
                at: pointer(&self.at, name),
                value,
            })
    }

    fn need_ext(&self, local: &str) -> Result<Owned<'a>, MappingError> {
        self.ext(local).ok_or_else(|| {
            error(
                &pointer(&self.at, &extension::term(local)),
                format!("missing: a rare earth event carries {PREFIX}:{local}"),
            )
        })
    }

    fn ext_string(&self, local: &str) -> Result<Option<String>, MappingError> {
        self.ext(local)
            .map(|field| field.str().map(str::to_owned))
            .transpose()
    }

    fn ext_percent(&self, local: &str) -> Result<Option<Share>, MappingError> {
        self.ext(local).map(|field| field.percent()).transpose()
    }
}

fn event_time(event: &Obj<'_>) -> Result<OffsetDateTime, MappingError> {
    let time = event.need_std("eventTime", "the event time")?;
    let at = parse_time(&time)?;
    let zone = event.need_std("eventTimeZoneOffset", "the zone offset, e.g. +08:00")?;
    let offset = parse_offset(zone.str()?).ok_or_else(|| {
        error(
            &zone.at,
            "write the zone offset as ±hh:mm, e.g. +08:00 for Asia/Shanghai",
        )
    })?;
    Ok(at.to_offset(offset))
}

fn parse_time(field: &Owned<'_>) -> Result<OffsetDateTime, MappingError> {
    OffsetDateTime::parse(field.str()?, &Rfc3339).map_err(|e| {
        error(
            &field.at,
            format!("{e}: write an RFC 3339 time with its offset, e.g. 2025-03-03T08:00:00+08:00"),
        )
    })
}

fn parse_offset(text: &str) -> Option<UtcOffset> {
    let bytes = text.as_bytes();
    let [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] = bytes else {
        return None;
    };
    let digit = |b: &u8| b.is_ascii_digit().then(|| i8::try_from(b - b'0').ok())?;
    let hours = digit(h1)? * 10 + digit(h2)?;
    let minutes = digit(m1)? * 10 + digit(m2)?;
    if hours > 14 || (hours == 14 && minutes > 0) {
        return None;
    }
    let sign = if *sign == b'-' { -1 } else { 1 };
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// The facility: the read point, or the business location when there is no read point.
fn facility(event: &Obj<'_>) -> Result<Option<retrace_domain::facility::FacilityId>, MappingError> {
    let Some(location) = event
        .standard("readPoint")
        .or_else(|| event.standard("bizLocation"))
    else {
        return Ok(None);
    };
    let id = location.need_std("id", "the facility URI")?;
    identifier::parse_facility(id.str()?)
        .map(Some)
        .map_err(|reason| error(&id.at, reason))
}

/// Checks the event type and action the mapping gives `kind`.
fn shape(event: &Obj<'_>, event_type: &str, action: Option<&str>) -> Result<(), MappingError> {
    let found = event.need_std("type", event_type)?;
    if found.str()? != event_type {
        return Err(error(
            &found.at,
            format!("this flow is written as a {event_type}"),
        ));
    }
    if let Some(action) = action {
        let found = event.need_std("action", action)?;
        if found.str()? != action {
            return Err(error(
                &found.at,
                format!("this flow is written with action {action}"),
            ));
        }
    }
    Ok(())
}

/// The lots and masses of a quantity list.
fn quantities(event: &Obj<'_>, list: &str) -> Result<Vec<(LotId, Mass)>, MappingError> {
    let Some(field) = event.std_field(list) else {
        return Ok(Vec::new());
    };
    field
        .items()?
        .into_iter()
        .map(|item| {
            let element = Obj::of(&item, event.context)?;
            let lot = element
                .need_std("epcClass", "the lot's EPC class URI")?
                .lot()?;
            let amount = element.need_std("quantity", "the mass, e.g. 1250.5 with uom KGM")?;
            let uom = element.need_std("uom", "the unit of the mass: KGM, TNE or GRM")?;
            let mass = quantity::parse_mass(amount.number()?, uom.str()?)
                .map_err(|reason| error(&amount.at, reason))?;
            Ok((lot, mass))
        })
        .collect()
}

/// The one lot and mass of an event about one lot.
fn one_quantity(event: &Obj<'_>) -> Result<(LotId, Mass), MappingError> {
    let mut found = quantities(event, "quantityList")?;
    if found.len() != 1 {
        return Err(error(
            &pointer(&event.at, "quantityList"),
            "a rare earth flow of one lot has exactly one quantity element: the lot's EPC \
             class with its mass",
        ));
    }
    Ok(found.remove(0))
}

/// The lot master data of one new lot.
fn new_lot(data: &Obj<'_>, lot: LotId, wet_mass: Mass) -> Result<NewLot, MappingError> {
    let product = data.need_ext("product")?;
    let product = ProductCode::parse(product.str()?).map_err(|e| {
        error(
            &product.at,
            format!("{e}; write a product code of the catalogue"),
        )
    })?;
    let grade = data.need_ext("gradePercent")?.percent()?;
    let basis = data
        .ext("gradeBasis")
        .map(|field| field.token("the grade basis"))
        .transpose()?
        .unwrap_or_default();
    let certificate = data
        .ext("certificate")
        .map(|field| {
            let certificate = Obj::of(&field, data.context)?;
            Ok::<_, MappingError>(AssayCertificate {
                number: certificate.need_ext("certificateNumber")?.str()?.to_owned(),
                laboratory: certificate.need_ext("laboratory")?.str()?.to_owned(),
                accredited: certificate
                    .ext("accredited")
                    .map(|field| {
                        field
                            .value
                            .as_bool()
                            .ok_or_else(|| error(&field.at, "write true or false"))
                    })
                    .transpose()?
                    .unwrap_or(false),
            })
        })
        .transpose()?;
    let measurement = Measurement {
        wet_mass,
        moisture: data.ext_percent("moisturePercent")?.unwrap_or(Share::ZERO),
        loss_on_ignition: data.ext_percent("lossOnIgnitionPercent")?,
        grade,
        basis,
        purity: data.ext_percent("purityPercent")?,
        certificate,
    };
    Ok(NewLot {
        lot,
        product,
        measurement,
        distribution: distribution(data)?,
        feed_origin: data
            .ext("feedOrigin")
            .map(|field| field.token("a feed origin"))
            .transpose()?,
    })
}

fn distribution(data: &Obj<'_>) -> Result<Option<ElementDistribution>, MappingError> {
    let Some(field) = data.ext("distribution") else {
        return Ok(None);
    };
    let shares = Obj::of(&field, data.context)?;
    let prefix = format!("{{{NAMESPACE}}}");
    let mut parsed = BTreeMap::new();
    for (name, value) in shares.map {
        let at = pointer(&shares.at, name);
        let expanded = data.context.expand_name(name);
        let element: Element = expanded
            .strip_prefix(&prefix)
            .and_then(|symbol| symbol.parse().ok())
            .ok_or_else(|| {
                error(
                    &at,
                    format!("name each element by its symbol: {PREFIX}:Nd, {PREFIX}:Dy, …"),
                )
            })?;
        let share = Owned { at, value }.percent()?;
        parsed.insert(element, share);
    }
    ElementDistribution::new(parsed)
        .map(Some)
        .map_err(|e| error(&field.at, e.to_string()))
}

/// The ILMD of an event that brings one lot into being.
fn one_new_lot(event: &Obj<'_>) -> Result<NewLot, MappingError> {
    shape(event, "ObjectEvent", Some("ADD"))?;
    let (lot, mass) = one_quantity(event)?;
    let ilmd = event.standard("ilmd").ok_or_else(|| {
        error(
            &pointer(&event.at, "ilmd"),
            "missing: the new lot's master data (product, grade, …) is the ILMD",
        )
    })?;
    new_lot(&ilmd, lot, mass)
}

fn opening(event: &Obj<'_>) -> Result<Opening, MappingError> {
    let documents = match event.ext("documents") {
        Some(field) => field
            .items()?
            .iter()
            .map(|item| item.str().map(str::to_owned))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(Opening {
        output: one_new_lot(event)?,
        documents,
    })
}

fn extract(event: &Obj<'_>) -> Result<Extract, MappingError> {
    Ok(Extract {
        output: one_new_lot(event)?,
    })
}

/// Where a source or destination of `type` (CBV 2.0 §7.4) is.
fn party_of<'a>(
    event: &Obj<'a>,
    list: &str,
    member: &str,
    sdt: &str,
) -> Result<Option<Owned<'a>>, MappingError> {
    let Some(field) = event.std_field(list) else {
        return Ok(None);
    };
    let wanted = Vocabulary::SourceDestinationType.normalise(sdt, event.context);
    for item in field.items()? {
        let entry = Obj::of(&item, event.context)?;
        let kind = entry.need_std("type", "the source or destination type")?;
        if Vocabulary::SourceDestinationType.normalise(kind.str()?, event.context) == wanted {
            return entry.need_std(member, "its URI").map(Some);
        }
    }
    Ok(None)
}

fn need_party<'a>(
    event: &Obj<'a>,
    list: &str,
    member: &str,
    sdt: &str,
) -> Result<Owned<'a>, MappingError> {
    party_of(event, list, member, sdt)?.ok_or_else(|| {
        error(
            &pointer(&event.at, list),
            format!("missing: write a {member} of type {sdt}"),
        )
    })
}

fn country(field: &Owned<'_>) -> Result<String, MappingError> {
    identifier::parse_country(field.str()?).map_err(|reason| error(&field.at, reason))
}

fn import(event: &Obj<'_>) -> Result<Import, MappingError> {
    let origin = need_party(event, "sourceList", "source", "location")?;
    Ok(Import {
        output: one_new_lot(event)?,
        customs_declaration: event.need_ext("customsDeclaration")?.str()?.to_owned(),
        origin_country: country(&origin)?,
        supplier: event.ext_string("supplier")?,
    })
}

/// Items of a `rareearth` list beside a quantity list, one per quantity element, in order.
fn beside<'a>(holder: &Obj<'a>, local: &str, count: usize) -> Result<Vec<Obj<'a>>, MappingError> {
    if count == 0 && holder.ext(local).is_none() {
        return Ok(Vec::new());
    }
    let field = holder.need_ext(local)?;
    let items = field.items()?;
    if items.len() != count {
        return Err(error(
            &field.at,
            format!("write one item per quantity element, in the same order ({count})"),
        ));
    }
    items
        .iter()
        .map(|item| Obj::of(item, holder.context))
        .collect()
}

/// Checks that an item beside a quantity element names the same lot.
fn same_lot(item: &Obj<'_>, lot: &LotId) -> Result<(), MappingError> {
    let named = item.need_ext("epcClass")?;
    if named.lot()? != *lot {
        return Err(error(
            &named.at,
            format!(
                "names another lot than the quantity element at the same position ({})",
                identifier::lot_class(lot)
            ),
        ));
    }
    Ok(())
}

fn transform(event: &Obj<'_>) -> Result<Transform, MappingError> {
    shape(event, "TransformationEvent", None)?;
    let inputs = quantities(event, "inputQuantityList")?;
    let origins = beside(event, "inputs", inputs.len())?;
    let inputs = inputs
        .into_iter()
        .zip(&origins)
        .map(|((lot, mass), origin)| {
            same_lot(origin, &lot)?;
            Ok(TransformInput {
                feed_origin: origin.need_ext("feedOrigin")?.token("a feed origin")?,
                lot,
                mass,
            })
        })
        .collect::<Result<_, MappingError>>()?;
    let outputs = quantities(event, "outputQuantityList")?;
    let data = match event.standard("ilmd") {
        Some(ilmd) => beside(&ilmd, "outputs", outputs.len())?,
        None if outputs.is_empty() => Vec::new(),
        None => {
            return Err(error(
                &pointer(&event.at, "ilmd"),
                format!("missing: the outputs' master data is the ILMD, as {PREFIX}:outputs"),
            ));
        }
    };
    let outputs = outputs
        .into_iter()
        .zip(&data)
        .map(|((lot, mass), data)| {
            same_lot(data, &lot)?;
            new_lot(data, lot, mass)
        })
        .collect::<Result<_, _>>()?;
    Ok(Transform {
        process: event.need_ext("process")?.token("a process")?,
        inputs,
        outputs,
        toll_owner: event.ext("tollOwner").map(|f| f.party()).transpose()?,
    })
}

/// The number of the document of `kind` among the business transactions of CBV type `btt`
/// (or of any type, for `None`), with its issuer.
fn document(
    event: &Obj<'_>,
    btt: Option<&str>,
    kind: Document,
) -> Result<Option<(Uscc, String)>, MappingError> {
    let Some(field) = event.std_field("bizTransactionList") else {
        return Ok(None);
    };
    let wanted = btt.map(|btt| Vocabulary::BizTransactionType.normalise(btt, event.context));
    for item in field.items()? {
        let entry = Obj::of(&item, event.context)?;
        let found = match entry.std_field("type") {
            Some(kind) => {
                Some(Vocabulary::BizTransactionType.normalise(kind.str()?, event.context))
            }
            None => None,
        };
        if wanted.is_some() && found != wanted {
            continue;
        }
        let uri = entry.need_std("bizTransaction", "the document URI")?;
        return identifier::parse_document(uri.str()?, kind)
            .map(Some)
            .map_err(|reason| error(&uri.at, reason));
    }
    Ok(None)
}

fn need_document(
    event: &Obj<'_>,
    btt: Option<&str>,
    kind: Document,
) -> Result<(Uscc, String), MappingError> {
    document(event, btt, kind)?.ok_or_else(|| {
        error(
            &pointer(&event.at, "bizTransactionList"),
            format!(
                "missing: write the {} as a business transaction{}",
                kind.segment(),
                btt.map(|t| format!(" of type {t}")).unwrap_or_default()
            ),
        )
    })
}

fn ship(event: &Obj<'_>) -> Result<Ship, MappingError> {
    shape(event, "ObjectEvent", Some("OBSERVE"))?;
    let (lot, mass) = one_quantity(event)?;
    Ok(Ship {
        lot,
        mass,
        to: need_party(event, "destinationList", "destination", "owning_party")?.party()?,
        shipment: need_document(event, Some("bol"), Document::Shipment)?.1,
        contract: document(event, Some("po"), Document::Contract)?.map(|(_, n)| n),
        invoice: document(event, Some("inv"), Document::Invoice)?.map(|(_, n)| n),
    })
}

fn receive(event: &Obj<'_>) -> Result<Receive, MappingError> {
    shape(event, "ObjectEvent", Some("OBSERVE"))?;
    let (lot, mass) = one_quantity(event)?;
    Ok(Receive {
        lot,
        from: need_party(event, "sourceList", "source", "owning_party")?.party()?,
        shipment: need_document(event, Some("bol"), Document::Shipment)?.1,
        mass,
        grade: event.ext_percent("gradePercent")?,
    })
}

fn transfer(event: &Obj<'_>) -> Result<Transfer, MappingError> {
    shape(event, "TransactionEvent", Some("ADD"))?;
    let (lot, mass) = one_quantity(event)?;
    Ok(Transfer {
        lot,
        mass,
        to: need_party(event, "destinationList", "destination", "owning_party")?.party()?,
        holder: party_of(event, "destinationList", "destination", "possessing_party")?
            .map(|field| field.party())
            .transpose()?,
        document: need_document(event, None, Document::Title)?.1,
    })
}

fn export(event: &Obj<'_>) -> Result<Export, MappingError> {
    shape(event, "ObjectEvent", Some("OBSERVE"))?;
    let (lot, mass) = one_quantity(event)?;
    let destination = need_party(event, "destinationList", "destination", "location")?;
    Ok(Export {
        lot,
        mass,
        destination_country: country(&destination)?,
        commodity_code: event.need_ext("commodityCode")?.str()?.to_owned(),
        customs_declaration: event.ext_string("customsDeclaration")?,
        licence: event.ext_string("exportLicence")?,
        controlled_remark: event.ext_string("controlledRemark")?,
    })
}

fn adjust(event: &Obj<'_>) -> Result<Adjust, MappingError> {
    shape(event, "ObjectEvent", Some("OBSERVE"))?;
    let (lot, magnitude) = one_quantity(event)?;
    let direction = event.need_ext("adjustment")?;
    let grams = i64::try_from(magnitude.grams())
        .map_err(|_| error(&pointer(&event.at, "quantityList"), "too large a change"))?;
    let change = match direction.str()? {
        "increase" => MassChange::from_grams(grams),
        "decrease" => MassChange::from_grams(-grams),
        _ => {
            return Err(error(
                &direction.at,
                "write increase or decrease: the quantity is the size of the change",
            ));
        }
    };
    Ok(Adjust {
        lot,
        change,
        reason: event.need_ext("adjustReason")?.token("an adjust reason")?,
        grade: event.ext_percent("gradePercent")?,
        note: event.ext_string("note")?,
    })
}

/// An error declaration on a rare earth event: a correction of the entry holding it.
fn correction(
    event: &Obj<'_>,
    declaration: &Obj<'_>,
    entries: &dyn Entries,
) -> Result<FlowEvent, MappingError> {
    let id = match event.std_field("eventID") {
        Some(id) => id.str()?.to_owned(),
        None => event_hash_id(&Value::Object(event.map.clone()), event.context)
            .map_err(|e| error(&event.at, e.to_string()))?,
    };
    let corrects = entries.index(&id).ok_or_else(|| {
        error(
            &pointer(&event.at, "errorDeclaration"),
            format!(
                "declares event {id} wrong, which the ledger does not hold: repeat the \
                 recorded event with its eventID"
            ),
        )
    })?;
    let time = declaration.need_std("declarationTime", "when the error was declared")?;
    let reason = match declaration.ext_string("reason")? {
        Some(reason) => reason,
        None => {
            let cbv = declaration.need_std(
                "reason",
                "a reason: did_not_occur or incorrect_data, or your own words as rareearth:reason",
            )?;
            cbv.str()?.to_owned()
        }
    };
    let enterprise = match declaration.ext("enterprise") {
        Some(field) => field.party()?,
        None => event.need_ext("enterprise")?.party()?,
    };
    let facility = declaration
        .ext("facility")
        .map(|field| {
            identifier::parse_facility(field.str()?).map_err(|reason| error(&field.at, reason))
        })
        .transpose()?;
    Ok(FlowEvent {
        event_time: parse_time(&time)?,
        enterprise,
        facility,
        reference: declaration.ext_string("reference")?,
        flow: Flow::Correction(Correction { corrects, reason }),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_offset;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+08:00").unwrap().as_hms(), (8, 0, 0));
        assert_eq!(parse_offset("-03:30").unwrap().as_hms(), (-3, -30, 0));
        for bad in ["08:00", "+8:00", "+0800", "+25:00", "+14:30", "+08:60"] {
            assert!(parse_offset(bad).is_none(), "{bad}");
        }
    }
}

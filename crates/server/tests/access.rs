//! The access matrix (issue 3, "Tests"): every role × every endpoint × every
//! kind of target — its own scope, another enterprise, another group, a region
//! above, beside and below, a facility of an outside enterprise inside the
//! region — over the conformance fixture, with the answer each must get.
//!
//! The expected answers follow from one hand-written table, [`callers`]: for
//! each account, what kind of role it holds and which of the fixture's
//! enterprises and lots its scope reaches. Every request of [`reads`] and
//! [`writes`] is made as every caller; the observed matrix is compared with
//! the expected one as a whole and every cell that differs is printed, so the
//! test fails when any cell changes. For lists a cell is the set of
//! enterprises, lots, positions, accounts or flags returned, not only the
//! status.
//!
//! The rules the table holds: out of scope answers exactly like nonexistent
//! (404, never 403; an empty page for a list); a role without the capability
//! gets 403 `not-in-role`; no credentials, or a forged token, 401.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::{Answer, App, Credentials, PASSWORD};
use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_store::conformance::{fixture, lots, parties};
use retrace_store::trace::{Direction, TraceAnswer};
use retrace_store::{EntryFilter, PageRequest, Scope, Store};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

// ---------------------------------------------------------------------------
// The fixture, by short names.

/// The fixture's enterprises (`retrace_store::conformance::Parties`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum P {
    /// Bayan Obo (150206), Northern group.
    Miner,
    /// Baotou high-tech zone (150271), Northern group.
    Separator,
    /// Ganzhou (360702), China RE group; receives the separator's Nd oxide.
    Smelter,
    /// Longyan (350802), independent.
    Magnets,
    /// Shanghai (310115), independent, no facility.
    Exporter,
    /// Seated in Baotou 150203, its warehouse in 150204.
    Warehouse,
    /// Ganzhou (360781), China RE group.
    Ionic,
}

use P::*;

const EVERY: [P; 7] = [
    Miner, Separator, Smelter, Magnets, Exporter, Warehouse, Ionic,
];

impl P {
    fn uscc(self) -> Uscc {
        let p = parties();
        match self {
            Miner => p.miner,
            Separator => p.separator,
            Smelter => p.smelter,
            Magnets => p.magnet_maker,
            Exporter => p.exporter,
            Warehouse => p.warehouse,
            Ionic => p.ionic_miner,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Miner => "miner",
            Separator => "separator",
            Smelter => "smelter",
            Magnets => "magnets",
            Exporter => "exporter",
            Warehouse => "warehouse",
            Ionic => "ionic",
        }
    }

    fn of(uscc: &str) -> Option<P> {
        EVERY.into_iter().find(|p| p.uscc().as_str() == uscc)
    }

    /// Its facilities on the register, as the fixture enters them.
    fn facilities(self) -> &'static [&'static str] {
        match self {
            Miner => &["MINE-A"],
            Separator => &["PLANT-B"],
            Smelter => &["PLANT-C"],
            Magnets => &["PLANT-D"],
            Exporter => &[],
            Warehouse => &["WH-W"],
            Ionic => &["MINE-G"],
        }
    }

    /// Its designations, as the fixture makes them.
    fn designations(self) -> &'static [&'static str] {
        match self {
            Miner => &["mining_rock"],
            Separator => &["separation"],
            _ => &[],
        }
    }
}

/// A USCC as a cell shows it: the fixture's short name, or the code.
fn party_name(uscc: &str) -> String {
    P::of(uscc).map_or_else(|| uscc.to_owned(), |p| p.name().to_owned())
}

/// The fixture's lots (`retrace_store::conformance::Lots`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum L {
    Ore,
    NdOxide,
    DyOxide,
    LaCe,
    NdMetal,
    Magnet,
    Opening,
    Monazite,
    IonicOre,
}

use L::*;

const EVERY_LOT: [L; 9] = [
    Ore, NdOxide, DyOxide, LaCe, NdMetal, Magnet, Opening, Monazite, IonicOre,
];

impl L {
    fn id(self) -> LotId {
        let l = lots();
        match self {
            Ore => l.ore,
            NdOxide => l.nd_oxide,
            DyOxide => l.dy_oxide,
            LaCe => l.la_ce_oxide,
            NdMetal => l.nd_metal,
            Magnet => l.magnet,
            Opening => l.opening,
            Monazite => l.monazite,
            IonicOre => l.ionic,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ore => "ore",
            NdOxide => "nd_oxide",
            DyOxide => "dy_oxide",
            LaCe => "la_ce",
            NdMetal => "nd_metal",
            Magnet => "magnet",
            Opening => "opening",
            Monazite => "monazite",
            IonicOre => "ionic_ore",
        }
    }

    fn of(id: &str) -> Option<L> {
        EVERY_LOT.into_iter().find(|l| l.id().as_str() == id)
    }

    fn producer(self) -> P {
        match self {
            Ore => Miner,
            NdOxide | DyOxide | LaCe => Separator,
            NdMetal => Smelter,
            Magnet => Magnets,
            Opening | Monazite => Exporter,
            IonicOre => Ionic,
        }
    }

    /// The lots it was made from, as the public chain lists them (nearest first).
    fn chain(self) -> &'static [L] {
        match self {
            NdOxide | DyOxide | LaCe => &[Ore],
            NdMetal => &[NdOxide, Ore],
            Magnet => &[NdMetal, NdOxide, Ore],
            Ore | Opening | Monazite | IonicOre => &[],
        }
    }
}

fn lot_name(id: &str) -> String {
    L::of(id).map_or_else(|| id.to_owned(), |l| l.name().to_owned())
}

/// Every stock position the fixture leaves that is not empty: lot, holder, owner.
const POSITIONS: [(L, P, P); 9] = [
    (Ore, Miner, Miner),
    (Ore, Separator, Separator),
    (LaCe, Separator, Separator),
    (LaCe, Warehouse, Exporter),
    (LaCe, Warehouse, Magnets),
    (Magnet, Magnets, Magnets),
    (Opening, Exporter, Exporter),
    (Monazite, Exporter, Exporter),
    (IonicOre, Ionic, Ionic),
];

/// Every open flag the fixture leaves: its rule and the enterprise it is filed under.
const FLAGS: [(&str, P); 4] = [
    ("negative_stock", Miner),
    ("transfer_mismatch", Magnets),
    ("export_without_licence", Exporter),
    ("undesignated_extraction", Ionic),
];

/// Entries of the fixture the matrix asks for one by one: an act and a flow
/// of every enterprise.
const ENTRIES: [u64; 10] = [0, 15, 18, 19, 20, 24, 27, 29, 30, 37];

fn entry_enterprise(index: u64) -> P {
    let all = fixture();
    let record = &all[usize::try_from(index).unwrap()];
    P::of(record.enterprise().as_str()).expect("fixture entries are the parties'")
}

fn entry_kind(index: u64) -> String {
    fixture()[usize::try_from(index).unwrap()].kind_token()
}

// ---------------------------------------------------------------------------
// The callers and what each reaches: the one hand-written table.

/// What kind of role a caller holds, which decides its capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// No credentials.
    Anonymous,
    /// A well-formed token whose secret is wrong.
    Forged,
    Admin,
    Operator(P),
    Manager(P),
    Group,
    Regulator,
    /// The ministry of industry and IT: a regulator that also designates.
    Designator,
    Inspector,
    Auditor,
}

use Kind::*;

struct Caller {
    name: &'static str,
    kind: Kind,
    /// The enterprises its scope reaches (for the administrator, the register's).
    sees: &'static [P],
    /// The lots it may open.
    lots: &'static [L],
}

const BAOTOU: &[P] = &[Miner, Separator, Warehouse];
const BAOTOU_LOTS: &[L] = &[Ore, NdOxide, DyOxide, LaCe];
const GANZHOU: &[P] = &[Smelter, Ionic];
const GANZHOU_LOTS: &[L] = &[NdMetal, IonicOre];

/// The accounts created for the matrix beside those of `common::accounts`:
/// a region above, below and a county that holds only a facility of an
/// enterprise seated elsewhere.
const EXTRA: [(&str, &str); 3] = [
    ("jiangxi.province", "regulator:province:36:industry_it"),
    ("zhanggong.county", "regulator:county:360702:industry_it"),
    (
        "qingshan.county",
        "regulator:county:150204:natural_resources",
    ),
];

/// Every caller of the matrix.
///
/// A region sees the enterprises whose seat or any facility lies in it and
/// the lots they produced or hold; an enterprise and a group see the lots
/// they produced, hold, own or held.
fn callers() -> Vec<Caller> {
    let c = |name, kind, sees, lots| Caller {
        name,
        kind,
        sees,
        lots,
    };
    vec![
        c("anonymous", Anonymous, &[], &[]),
        c("forged.token", Forged, &[], &[]),
        c("admin", Admin, &EVERY, &[]),
        // Enterprises: their own.
        c("miner.clerk", Operator(Miner), &[Miner], &[Ore]),
        c("miner.boss", Manager(Miner), &[Miner], &[Ore]),
        c(
            "separator.clerk",
            Operator(Separator),
            &[Separator],
            &[Ore, NdOxide, DyOxide, LaCe],
        ),
        c(
            "smelter.clerk",
            Operator(Smelter),
            &[Smelter],
            &[NdOxide, NdMetal],
        ),
        c(
            "smelter.boss",
            Manager(Smelter),
            &[Smelter],
            &[NdOxide, NdMetal],
        ),
        c(
            "magnets.clerk",
            Operator(Magnets),
            &[Magnets],
            &[NdMetal, Magnet, LaCe],
        ),
        c(
            "exporter.clerk",
            Operator(Exporter),
            &[Exporter],
            &[DyOxide, LaCe, Opening, Monazite],
        ),
        c(
            "warehouse.clerk",
            Operator(Warehouse),
            &[Warehouse],
            &[LaCe],
        ),
        c("ionic.clerk", Operator(Ionic), &[Ionic], &[IonicOre]),
        // Groups: their members.
        c("northern.group", Group, &[Miner, Separator], BAOTOU_LOTS),
        c(
            "china.group",
            Group,
            &[Smelter, Ionic],
            &[NdOxide, NdMetal, IonicOre],
        ),
        // Regions: Inner Mongolia and Baotou above Bayan Obo; Qingshan holds
        // only the warehouse of an enterprise seated in Kundulun.
        c("bayanobo.county", Regulator, &[Miner], &[Ore]),
        c("qingshan.county", Regulator, &[Warehouse], &[LaCe]),
        c("baotou.city", Regulator, BAOTOU, BAOTOU_LOTS),
        c("neimenggu.province", Regulator, BAOTOU, BAOTOU_LOTS),
        c("baotou.inspector", Inspector, BAOTOU, BAOTOU_LOTS),
        c("neimenggu.auditor", Auditor, BAOTOU, BAOTOU_LOTS),
        // Jiangxi above Ganzhou above Zhanggong; Baotou beside Ganzhou.
        c("zhanggong.county", Regulator, &[Smelter], &[NdMetal]),
        c("ganzhou.city", Regulator, GANZHOU, GANZHOU_LOTS),
        c("jiangxi.province", Regulator, GANZHOU, GANZHOU_LOTS),
        c("ganzhou.auditor", Auditor, GANZHOU, GANZHOU_LOTS),
        // The exporter owns La-Ce oxide that the Baotou warehouse holds.
        c(
            "shanghai.province",
            Regulator,
            &[Exporter],
            &[LaCe, Opening, Monazite],
        ),
        // The whole country.
        c("miit.ministry", Designator, &EVERY, &EVERY_LOT),
        c("mnr.ministry", Regulator, &EVERY, &EVERY_LOT),
        c("national.auditor", Auditor, &EVERY, &EVERY_LOT),
    ]
}

impl Caller {
    fn sees(&self, p: P) -> bool {
        self.sees.contains(&p)
    }

    fn sees_lot(&self, l: L) -> bool {
        self.lots.contains(&l)
    }

    fn own(&self) -> Option<P> {
        match self.kind {
            Operator(p) | Manager(p) => Some(p),
            _ => None,
        }
    }

    fn authenticated(&self) -> bool {
        !matches!(self.kind, Anonymous | Forged)
    }

    /// The answer before the endpoint looks at its target: 401 without
    /// valid credentials, 403 without the capability.
    fn gate(&self, may: bool) -> Option<String> {
        if !self.authenticated() {
            Some("401 unauthenticated".to_owned())
        } else if !may {
            Some("403 not-in-role".to_owned())
        } else {
            None
        }
    }

    fn reads_flows(&self) -> bool {
        self.kind != Admin
    }

    fn manages_accounts(&self) -> bool {
        matches!(self.kind, Admin | Manager(_))
    }

    /// Whether an account of `role` lies in the reach of this caller's
    /// account management.
    fn reaches_account(&self, role: &str) -> bool {
        match self.kind {
            Admin => true,
            Manager(p) => {
                let own = p.uscc();
                role == format!("enterprise_operator:{own}")
                    || role == format!("enterprise_manager:{own}")
            }
            _ => false,
        }
    }

    /// A name of its own, for the ids and documents it writes.
    fn tag(&self) -> String {
        self.name.to_ascii_uppercase().replace('.', "-")
    }
}

/// Every account the app has, with its role as text.
fn all_accounts() -> Vec<(String, String)> {
    common::accounts()
        .into_iter()
        .map(|(name, role)| (name.to_owned(), role.to_string()))
        .chain(
            EXTRA
                .iter()
                .map(|(name, role)| ((*name).to_owned(), (*role).to_owned())),
        )
        .collect()
}

fn role_of(account: &str) -> String {
    all_accounts()
        .into_iter()
        .find(|(name, _)| name == account)
        .map(|(_, role)| role)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Cells: how an answer is summarised, and what is expected.

/// How an answer becomes the text of its cell.
#[derive(Clone, Debug)]
enum Summary {
    Status,
    /// `/events`: the enterprises of the entries and how many.
    Entries,
    /// `/stock`, `/lots/{lot}`: the non-empty positions, `lot@holder/owner`.
    Positions,
    Flags,
    Enterprises,
    Facilities,
    Designations,
    Accounts,
    /// `/tokens`: the accounts whose tokens are listed.
    Tokens,
    /// `/trail`: the accounts that did what is listed.
    TrailAccounts,
    /// `/me`, `/session`: whose account it is.
    Me,
    /// `/trace`: how many edges, whose are disclosed and whose withheld, and
    /// whether a withheld edge shows anything beyond its public part.
    Trace,
    /// `/public/lots/{lot}`: the chain, and anything confidential in the
    /// answer (`forbidden`: the codes and texts that must not appear).
    Public {
        forbidden: Vec<String>,
    },
}

fn list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> String {
    let mut items: Vec<String> = items.into_iter().map(Into::into).collect();
    items.sort();
    items.dedup();
    format!("[{}]", items.join(", "))
}

fn items(body: &Value) -> &[Value] {
    body["items"].as_array().map_or(&[], Vec::as_slice)
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("?")
}

/// The problem type's slug, or a note that the answer is not a problem.
fn slug(answer: &Answer) -> String {
    if answer.content_type() != "application/problem+json" {
        return "NOT A PROBLEM".to_owned();
    }
    let problem = answer.json();
    let kind = problem["type"].as_str().unwrap_or_default();
    let slug = kind.strip_prefix("urn:retrace:problem:").unwrap_or(kind);
    match problem["field"].as_str() {
        Some(field) => format!("{slug} ({field})"),
        None => slug.to_owned(),
    }
}

fn summarise(summary: &Summary, answer: &Answer) -> String {
    let status = answer.status.as_u16();
    if !answer.status.is_success() {
        return format!("{status} {}", slug(answer));
    }
    let body = || answer.json();
    match summary {
        Summary::Status => status.to_string(),
        Summary::Entries => {
            let body = body();
            let entries = items(&body);
            let enterprises = list(entries.iter().map(|e| party_name(str_of(&e["enterprise"]))));
            format!("{status} {enterprises} {} entries", entries.len())
        }
        Summary::Positions => {
            let body = body();
            let positions = body["positions"]
                .as_array()
                .map_or_else(|| items(&body), Vec::as_slice);
            let shown = positions
                .iter()
                .filter(|p| p["mass"].as_i64() != Some(0))
                .map(|p| {
                    format!(
                        "{}@{}/{}",
                        lot_name(str_of(&p["lot"])),
                        party_name(str_of(&p["holder"])),
                        party_name(str_of(&p["owner"]))
                    )
                });
            format!("{status} {}", list(shown))
        }
        Summary::Flags => {
            let body = body();
            let flags = items(&body).iter().map(|f| {
                format!(
                    "{}@{}",
                    str_of(&f["rule"]),
                    party_name(str_of(&f["enterprise"]))
                )
            });
            format!("{status} {}", list(flags))
        }
        Summary::Enterprises => {
            let body = body();
            let found = items(&body).iter().map(|e| party_name(str_of(&e["uscc"])));
            format!("{status} {}", list(found))
        }
        Summary::Facilities => {
            let body = body();
            let found = items(&body).iter().map(|f| str_of(&f["id"]).to_owned());
            format!("{status} {}", list(found))
        }
        Summary::Designations => {
            let body = body();
            let found = items(&body).iter().map(|d| {
                format!(
                    "{}:{}",
                    party_name(str_of(&d["enterprise"])),
                    str_of(&d["category"])
                )
            });
            format!("{status} {}", list(found))
        }
        Summary::Accounts => {
            let body = body();
            let found = items(&body).iter().map(|a| str_of(&a["name"]).to_owned());
            format!("{status} {}", list(found))
        }
        Summary::Tokens => {
            let body = body();
            let found = items(&body)
                .iter()
                .map(|t| str_of(&t["account"]).to_owned());
            format!("{status} {}", list(found))
        }
        Summary::TrailAccounts => {
            let body = body();
            let found = items(&body)
                .iter()
                .map(|t| str_of(&t["actor"]["account"]).to_owned());
            format!("{status} {}", list(found))
        }
        Summary::Me => {
            let body = body();
            let name = body.get("name").or_else(|| body.get("account"));
            format!("{status} {}", name.map_or("?", str_of))
        }
        Summary::Trace => trace_cell(&body()),
        Summary::Public { forbidden } => public_cell(&body(), forbidden),
    }
}

/// A trace as its cell shows it. A withheld edge may show only its public
/// part: the lots, and the mine, opening or holder of the enterprise whose
/// entry it is; never a mass, another enterprise, or a country.
fn trace_cell(body: &Value) -> String {
    let edges = body["edges"].as_array().map_or(&[][..], Vec::as_slice);
    let mut disclosed = BTreeSet::new();
    let mut withheld = BTreeSet::new();
    let mut leaks = Vec::new();
    for e in edges {
        let enterprise = party_name(str_of(&e["enterprise"]));
        if e["disclosed"] == true {
            disclosed.insert(enterprise);
            continue;
        }
        if !e["mass"].is_null() || !e["reo"].is_null() {
            leaks.push(format!("entry {} shows its mass", e["entry"]));
        }
        for node in [&e["from"], &e["to"]] {
            let public = match node["node"].as_str() {
                Some("lot" | "undisclosed") => true,
                Some("mine" | "opening" | "holder") => node["enterprise"] == e["enterprise"],
                _ => false,
            };
            if !public {
                leaks.push(format!("entry {} shows {node}", e["entry"]));
            }
        }
        withheld.insert(enterprise);
    }
    let mut cell = format!(
        "200 {} edges; disclosed {}; withheld {}",
        edges.len(),
        list(disclosed),
        list(withheld)
    );
    if !leaks.is_empty() {
        cell.push_str(&format!("; LEAKS {}", leaks.join(", ")));
    }
    cell
}

/// Keys no public answer may hold at any depth: quantities, counterparties,
/// documents of flows, places abroad.
const CONFIDENTIAL_KEYS: [&str; 17] = [
    "mass",
    "reo",
    "wet_mass",
    "measurement",
    "shipment",
    "contract",
    "invoice",
    "documents",
    "customs_declaration",
    "licence",
    "country",
    "origin_country",
    "destination_country",
    "supplier",
    "holder",
    "owner",
    "positions",
];

/// Texts of the fixture's confidential fields: shipment numbers, documents
/// of title and stock, the customs declaration, the commodity code, and the
/// countries of the import and the export.
const CONFIDENTIAL_TEXTS: [&str; 12] = [
    "S-A-1",
    "S-A-2",
    "S-A-3",
    "S-B-1",
    "S-B-2",
    "S-B-3",
    "S-C-1",
    "仓单",
    "期初盘点表",
    "220120250000000001",
    "2846.90",
    "stock-take entered twice",
];

fn public_cell(body: &Value, forbidden: &[String]) -> String {
    let chain = body["chain"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|s| lot_name(str_of(&s["lot"])))
        .collect::<Vec<_>>();
    let mut shown = BTreeSet::new();
    confidential_in(body, forbidden, &mut shown);
    let verdict = if shown.is_empty() {
        "nothing confidential".to_owned()
    } else {
        format!("SHOWS {}", list(shown))
    };
    format!("200 chain [{}]; {verdict}", chain.join(", "))
}

/// Collects what `value` shows of the confidential: keys, texts (also inside
/// strings that are themselves JSON, like an entry's bytes) and the
/// countries as whole values.
fn confidential_in(value: &Value, forbidden: &[String], shown: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if CONFIDENTIAL_KEYS.contains(&key.as_str()) {
                    shown.insert(format!("key {key}"));
                }
                confidential_in(v, forbidden, shown);
            }
        }
        Value::Array(items) => {
            for v in items {
                confidential_in(v, forbidden, shown);
            }
        }
        Value::String(text) => {
            if text == "AU" || text == "JP" {
                shown.insert(format!("country {text}"));
            }
            for f in forbidden
                .iter()
                .map(String::as_str)
                .chain(CONFIDENTIAL_TEXTS)
            {
                if text.contains(f) {
                    shown.insert(f.to_owned());
                }
            }
            if let Some(inner) = text
                .find('{')
                .and_then(|at| serde_json::from_str::<Value>(&text[at..]).ok())
            {
                confidential_in(&inner, forbidden, shown);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Rows: one request each, made by every caller.

/// What a caller sends.
#[derive(Clone, Debug)]
struct Request {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn get(path: impl Into<String>) -> Request {
    Request {
        method: Method::GET,
        path: path.into(),
        body: None,
    }
}

fn send(method: Method, path: impl Into<String>, body: Value) -> Request {
    Request {
        method,
        path: path.into(),
        body: Some(body),
    }
}

type Expect = Box<dyn Fn(&Caller) -> String>;
type Make = Box<dyn Fn(&Caller) -> Request>;

struct Row {
    label: String,
    request: Make,
    summary: Summary,
    expect: Expect,
}

fn row(
    label: impl Into<String>,
    summary: Summary,
    request: impl Fn(&Caller) -> Request + 'static,
    expect: impl Fn(&Caller) -> String + 'static,
) -> Row {
    Row {
        label: label.into(),
        request: Box::new(request),
        summary,
        expect: Box::new(expect),
    }
}

/// A row whose request is the same for every caller.
fn same(
    label: impl Into<String>,
    summary: Summary,
    request: Request,
    expect: impl Fn(&Caller) -> String + 'static,
) -> Row {
    let label = label.into();
    row(label, summary, move |_| request.clone(), expect)
}

fn found(visible: bool) -> String {
    if visible { "200" } else { "404 not-found" }.to_owned()
}

fn entries_cell(enterprises: &BTreeSet<P>, count: usize) -> String {
    format!(
        "200 {} {count} entries",
        list(enterprises.iter().map(|p| p.name()))
    )
}

/// Every entry of the fixture the caller sees, as the `/events` cell shows them.
fn fixture_entries(caller: &Caller, of: impl Fn(&Record) -> bool) -> String {
    let all = fixture();
    let seen: Vec<P> = all
        .iter()
        .filter(|r| of(r))
        .filter_map(|r| P::of(r.enterprise().as_str()))
        .filter(|p| caller.sees(*p))
        .collect();
    entries_cell(&seen.iter().copied().collect(), seen.len())
}

fn positions_cell(caller: &Caller, keep: impl Fn(L, P, P) -> bool) -> String {
    let shown = POSITIONS
        .iter()
        .filter(|(l, h, o)| keep(*l, *h, *o) && (caller.sees(*h) || caller.sees(*o)))
        .map(|(l, h, o)| format!("{}@{}/{}", l.name(), h.name(), o.name()));
    format!("200 {}", list(shown))
}

/// What the installation's trace of a lot is, for the expected cells.
struct Universe {
    traces: BTreeMap<(L, &'static str), TraceAnswer>,
    /// The enterprise of every entry that names each lot.
    lot_entries: BTreeMap<L, Vec<P>>,
}

async fn universe(app: &App) -> Universe {
    let everything = PageRequest::first(1_000);
    let mut traces = BTreeMap::new();
    let mut lot_entries = BTreeMap::new();
    for l in EVERY_LOT {
        for (direction, name) in [
            (Direction::Backward, "backward"),
            (Direction::Forward, "forward"),
        ] {
            let answer = app
                .store
                .trace(&Scope::Installation, &l.id(), direction, &everything)
                .await
                .unwrap();
            traces.insert((l, name), answer);
        }
        let filter = EntryFilter {
            lot: Some(l.id()),
            ..EntryFilter::default()
        };
        let entries = app
            .store
            .entries(&Scope::Installation, &filter, &everything)
            .await
            .unwrap();
        lot_entries.insert(
            l,
            entries
                .items
                .iter()
                .map(|e| P::of(e.enterprise.as_str()).unwrap())
                .collect(),
        );
    }
    Universe {
        traces,
        lot_entries,
    }
}

fn trace_expected(caller: &Caller, answer: &TraceAnswer) -> String {
    let (mut disclosed, mut withheld) = (BTreeSet::new(), BTreeSet::new());
    for e in &answer.edges {
        let p = P::of(e.enterprise.as_str()).unwrap();
        if caller.sees(p) {
            disclosed.insert(p.name());
        } else {
            withheld.insert(p.name());
        }
    }
    format!(
        "200 {} edges; disclosed {}; withheld {}",
        answer.edges.len(),
        list(disclosed),
        list(withheld)
    )
}

/// Trail entries the matrix asks for by index.
struct TrailMarks {
    /// A read by the miner's clerk: Inner Mongolia's.
    miner_read: u64,
    /// A read by the smelter's clerk: Jiangxi's.
    smelter_read: u64,
    /// The installation creating an account: nobody's region.
    installation: u64,
}

/// The reads of the audit trail: auditors only, of their region. They run
/// before every other row, while the accounts they ask about have done only
/// what [`trail_marks`] made them do.
fn trail_reads(marks: &TrailMarks) -> Vec<Row> {
    let mut rows = Vec::new();
    let auditor = |c: &Caller| c.gate(c.kind == Auditor);
    rows.push(same(
        "GET /trail",
        Summary::Status,
        get("/trail"),
        move |c| auditor(c).unwrap_or_else(|| "200".to_owned()),
    ));
    for (account, p) in [("miner.clerk", Miner), ("smelter.clerk", Smelter)] {
        rows.push(same(
            format!("GET /trail?account={account}"),
            Summary::TrailAccounts,
            get(format!("/trail?account={account}")),
            move |c| {
                auditor(c).unwrap_or_else(|| {
                    let shown = c.sees(p).then_some(account);
                    format!("200 {}", list(shown))
                })
            },
        ));
    }
    rows.push(same(
        "GET /trail/checkpoint",
        Summary::Status,
        get("/trail/checkpoint"),
        move |c| auditor(c).unwrap_or_else(|| "200".to_owned()),
    ));
    for (what, index, visible) in [
        (
            "a read by miner.clerk",
            marks.miner_read,
            &(|c: &Caller| c.sees(Miner)) as &dyn Fn(&Caller) -> bool,
        ),
        (
            "a read by smelter.clerk",
            marks.smelter_read,
            &|c: &Caller| c.sees(Smelter),
        ),
        (
            "the installation creating an account",
            marks.installation,
            &|c: &Caller| c.sees.len() == EVERY.len(),
        ),
    ] {
        let expected: BTreeMap<&str, String> = callers()
            .iter()
            .map(|c| (c.name, auditor(c).unwrap_or_else(|| found(visible(c)))))
            .collect();
        rows.push(same(
            format!("GET /trail/proofs/inclusion?index={{{what}}}"),
            Summary::Status,
            get(format!("/trail/proofs/inclusion?index={index}")),
            move |c| expected[c.name].clone(),
        ));
    }

    rows
}

/// Every other read of the matrix.
fn reads(universe: &Universe) -> Vec<Row> {
    let mut rows = Vec::new();
    let flows = |c: &Caller| c.gate(c.reads_flows());

    // Entries.
    rows.push(same(
        "GET /events",
        Summary::Entries,
        get("/events"),
        move |c| flows(c).unwrap_or_else(|| fixture_entries(c, |_| true)),
    ));
    for p in EVERY {
        rows.push(same(
            format!("GET /events?enterprise={{{}}}", p.name()),
            Summary::Entries,
            get(format!("/events?enterprise={}", p.uscc())),
            move |c| {
                flows(c).unwrap_or_else(|| fixture_entries(c, |r| *r.enterprise() == p.uscc()))
            },
        ));
    }
    for l in EVERY_LOT {
        let of_lot = universe.lot_entries[&l].clone();
        rows.push(same(
            format!("GET /events?lot={{{}}}", l.name()),
            Summary::Entries,
            get(format!("/events?lot={}", l.id())),
            move |c| {
                flows(c).unwrap_or_else(|| {
                    let seen: Vec<P> = of_lot.iter().copied().filter(|p| c.sees(*p)).collect();
                    entries_cell(&seen.iter().copied().collect(), seen.len())
                })
            },
        ));
    }
    for index in ENTRIES {
        let p = entry_enterprise(index);
        let kind = entry_kind(index);
        rows.push(same(
            format!("GET /events/{index} ({kind} by {})", p.name()),
            Summary::Status,
            get(format!("/events/{index}")),
            move |c| flows(c).unwrap_or_else(|| found(c.sees(p))),
        ));
        rows.push(same(
            format!("GET /events/{index}/receipt ({kind} by {})", p.name()),
            Summary::Status,
            get(format!("/events/{index}/receipt")),
            move |c| flows(c).unwrap_or_else(|| found(c.sees(p))),
        ));
    }
    for path in ["/events/999", "/events/999/receipt"] {
        rows.push(same(
            format!("GET {path} (no such entry)"),
            Summary::Status,
            get(path),
            move |c| flows(c).unwrap_or_else(|| found(false)),
        ));
    }

    // Lots, their trace, stock and flags.
    for l in EVERY_LOT {
        rows.push(same(
            format!("GET /lots/{{{}}}", l.name()),
            Summary::Positions,
            get(format!("/lots/{}", l.id())),
            move |c| {
                flows(c).unwrap_or_else(|| {
                    if c.sees_lot(l) {
                        positions_cell(c, |lot, _, _| lot == l)
                    } else {
                        found(false)
                    }
                })
            },
        ));
    }
    let nowhere = common::lot(&Miner.uscc(), "NEVER-MADE");
    rows.push(same(
        "GET /lots/{no such lot}",
        Summary::Status,
        get(format!("/lots/{nowhere}")),
        move |c| flows(c).unwrap_or_else(|| found(false)),
    ));
    for ((l, direction), answer) in &universe.traces {
        let (l, answer) = (*l, answer.clone());
        rows.push(same(
            format!("GET /trace?lot={{{}}}&direction={direction}", l.name()),
            Summary::Trace,
            get(format!(
                "/trace?lot={}&direction={direction}&limit=1000",
                l.id()
            )),
            move |c| {
                flows(c).unwrap_or_else(|| {
                    if c.sees_lot(l) {
                        trace_expected(c, &answer)
                    } else {
                        found(false)
                    }
                })
            },
        ));
    }
    rows.push(same(
        "GET /trace?lot={no such lot}",
        Summary::Status,
        get(format!("/trace?lot={nowhere}")),
        move |c| flows(c).unwrap_or_else(|| found(false)),
    ));
    rows.push(same(
        "GET /stock",
        Summary::Positions,
        get("/stock"),
        move |c| flows(c).unwrap_or_else(|| positions_cell(c, |_, _, _| true)),
    ));
    for p in EVERY {
        rows.push(same(
            format!("GET /stock?holder={{{}}}", p.name()),
            Summary::Positions,
            get(format!("/stock?holder={}", p.uscc())),
            move |c| flows(c).unwrap_or_else(|| positions_cell(c, |_, h, _| h == p)),
        ));
    }
    let flags_cell = |c: &Caller, keep: &dyn Fn(P) -> bool| {
        let shown = FLAGS
            .iter()
            .filter(|(_, p)| keep(*p) && c.sees(*p))
            .map(|(rule, p)| format!("{rule}@{}", p.name()));
        format!("200 {}", list(shown))
    };
    rows.push(same(
        "GET /flags",
        Summary::Flags,
        get("/flags"),
        move |c| flows(c).unwrap_or_else(|| flags_cell(c, &|_| true)),
    ));
    for p in EVERY {
        rows.push(same(
            format!("GET /flags?enterprise={{{}}}", p.name()),
            Summary::Flags,
            get(format!("/flags?enterprise={}", p.uscc())),
            move |c| flows(c).unwrap_or_else(|| flags_cell(c, &|q| q == p)),
        ));
    }

    // The register: every role reads what its scope reaches.
    let register = |c: &Caller| c.gate(true);
    let enterprises_cell = |c: &Caller, keep: &dyn Fn(P) -> bool| {
        format!(
            "200 {}",
            list(
                EVERY
                    .iter()
                    .filter(|p| keep(**p) && c.sees(**p))
                    .map(|p| p.name())
            )
        )
    };
    rows.push(same(
        "GET /enterprises",
        Summary::Enterprises,
        get("/enterprises"),
        move |c| register(c).unwrap_or_else(|| enterprises_cell(c, &|_| true)),
    ));
    rows.push(same(
        "GET /enterprises?region=3607",
        Summary::Enterprises,
        get("/enterprises?region=3607"),
        move |c| register(c).unwrap_or_else(|| enterprises_cell(c, &|p| GANZHOU.contains(&p))),
    ));
    rows.push(same(
        "GET /enterprises?region=150204 (a facility, not a seat)",
        Summary::Enterprises,
        get("/enterprises?region=150204"),
        move |c| register(c).unwrap_or_else(|| enterprises_cell(c, &|p| p == Warehouse)),
    ));
    rows.push(same(
        "GET /enterprises?group=northern_rare_earth",
        Summary::Enterprises,
        get("/enterprises?group=northern_rare_earth"),
        move |c| {
            register(c).unwrap_or_else(|| enterprises_cell(c, &|p| p == Miner || p == Separator))
        },
    ));
    for p in EVERY {
        rows.push(same(
            format!("GET /enterprises/{{{}}}", p.name()),
            Summary::Status,
            get(format!("/enterprises/{}", p.uscc())),
            move |c| register(c).unwrap_or_else(|| found(c.sees(p))),
        ));
    }
    rows.push(same(
        "GET /enterprises/{no such enterprise}",
        Summary::Status,
        get(format!("/enterprises/{}", Uscc::synthesize("150206", 999))),
        move |c| register(c).unwrap_or_else(|| found(false)),
    ));
    let facilities_cell = |c: &Caller, keep: &dyn Fn(&str) -> bool| {
        let shown = EVERY
            .iter()
            .filter(|p| c.sees(**p))
            .flat_map(|p| p.facilities().iter().copied())
            .filter(|f| keep(f));
        format!("200 {}", list(shown))
    };
    rows.push(same(
        "GET /facilities",
        Summary::Facilities,
        get("/facilities"),
        move |c| register(c).unwrap_or_else(|| facilities_cell(c, &|_| true)),
    ));
    rows.push(same(
        "GET /facilities?region=150204",
        Summary::Facilities,
        get("/facilities?region=150204"),
        move |c| register(c).unwrap_or_else(|| facilities_cell(c, &|f| f == "WH-W")),
    ));
    for p in EVERY {
        for f in p.facilities() {
            rows.push(same(
                format!("GET /facilities/{f} (of {})", p.name()),
                Summary::Status,
                get(format!("/facilities/{f}")),
                move |c| register(c).unwrap_or_else(|| found(c.sees(p))),
            ));
        }
    }
    rows.push(same(
        "GET /facilities/{no such facility}",
        Summary::Status,
        get("/facilities/NOWHERE-1"),
        move |c| register(c).unwrap_or_else(|| found(false)),
    ));
    rows.push(same(
        "GET /designations",
        Summary::Designations,
        get("/designations"),
        move |c| {
            register(c).unwrap_or_else(|| {
                let shown = EVERY.iter().filter(|p| c.sees(**p)).flat_map(|p| {
                    p.designations()
                        .iter()
                        .map(move |d| format!("{}:{d}", p.name()))
                });
                format!("200 {}", list(shown))
            })
        },
    ));
    rows.push(same(
        "GET /groups",
        Summary::Status,
        get("/groups"),
        move |c| register(c).unwrap_or_else(|| "200".to_owned()),
    ));

    // Identity: one's own account, and the accounts and tokens one manages.
    for path in ["/me", "/session"] {
        rows.push(same(
            format!("GET {path}"),
            Summary::Me,
            get(path),
            move |c| c.gate(true).unwrap_or_else(|| format!("200 {}", c.name)),
        ));
    }
    let managed = |c: &Caller| {
        all_accounts()
            .into_iter()
            .filter(|(_, role)| c.reaches_account(role))
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
    };
    rows.push(same(
        "GET /accounts",
        Summary::Accounts,
        get("/accounts"),
        move |c| {
            c.gate(c.manages_accounts())
                .unwrap_or_else(|| format!("200 {}", list(managed(c))))
        },
    ));
    for target in ["miner.clerk", "smelter.clerk", "ganzhou.city", "admin"] {
        let role = role_of(target);
        rows.push(same(
            format!("GET /accounts/{target}"),
            Summary::Status,
            get(format!("/accounts/{target}")),
            move |c| {
                c.gate(c.manages_accounts())
                    .unwrap_or_else(|| found(c.reaches_account(&role)))
            },
        ));
    }
    rows.push(same(
        "GET /accounts/{no such account}",
        Summary::Status,
        get("/accounts/nobody.at.all"),
        move |c| c.gate(c.manages_accounts()).unwrap_or_else(|| found(false)),
    ));
    rows.push(same(
        "GET /tokens",
        Summary::Tokens,
        get("/tokens"),
        move |c| {
            c.gate(c.manages_accounts())
                .unwrap_or_else(|| format!("200 {}", list(managed(c))))
        },
    ));

    // Public verification and the ledger-wide public answers: anyone, with
    // or without credentials, and nothing confidential.
    for l in EVERY_LOT {
        let mut producers: BTreeSet<P> = l.chain().iter().map(|s| s.producer()).collect();
        producers.insert(l.producer());
        let forbidden = EVERY
            .iter()
            .filter(|p| !producers.contains(p))
            .map(|p| p.uscc().to_string())
            .collect();
        let chain: Vec<&str> = l.chain().iter().map(|s| s.name()).collect();
        let expected = format!("200 chain [{}]; nothing confidential", chain.join(", "));
        rows.push(same(
            format!("GET /public/lots/{{{}}}", l.name()),
            Summary::Public { forbidden },
            get(format!("/public/lots/{}", l.id())),
            move |_| expected.clone(),
        ));
    }
    rows.push(same(
        "GET /public/lots/{no such lot}",
        Summary::Status,
        get(format!("/public/lots/{nowhere}")),
        |_| found(false),
    ));
    for path in [
        "/checkpoint",
        "/checkpoints",
        "/proofs/inclusion?index=0",
        "/proofs/consistency?old=1",
        "/log-key",
        "/trail-key",
        "/healthz",
    ] {
        rows.push(same(
            format!("GET {path}"),
            Summary::Status,
            get(path),
            |_| "200".to_owned(),
        ));
    }
    rows
}

// ---------------------------------------------------------------------------
// Writes.

const WHEN: &str = "2025-06-01T00:00:00+08:00";

fn opening(of: P, number: &str) -> Value {
    json!([{
        "kind": "opening", "event_time": WHEN, "enterprise": of.uscc().as_str(),
        "output": {
            "lot": common::lot(&of.uscc(), number), "product": "OXI-CE",
            "measurement": {"wet_mass": "1 t", "grade": "99%"},
            "distribution": {"Ce": "100%"}
        },
        "documents": ["期初盘点表（矩阵）"]
    }])
}

/// A new enterprise for each caller and purpose, so that no write depends on
/// another.
fn new_enterprise(caller: usize, purpose: u32) -> Uscc {
    Uscc::synthesize(
        "150206",
        100 + purpose * 100 + u32::try_from(caller).unwrap(),
    )
}

fn enterprise_body(uscc: &Uscc) -> Value {
    json!({"uscc": uscc.as_str(), "name_zh": "矩阵测试贸易有限公司（合成）",
           "kinds": ["trader"], "seat": "150206"})
}

fn with_act(act: &str, fields: Value) -> Value {
    let mut record = json!({"effective": WHEN, "act": act});
    record
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    json!([record])
}

fn designation_body(of: P, category: &str, document: &str) -> Value {
    json!({"enterprise": of.uscc().as_str(), "category": category,
           "valid_from": "2025-07-01", "valid_to": "2025-12-31", "document": document})
}

/// The tokens each caller tries to revoke: one of the miner's clerk and one
/// of the smelter's clerk, issued for that caller alone.
struct Revocable {
    miner: BTreeMap<&'static str, String>,
    smelter: BTreeMap<&'static str, String>,
}

/// Every write of the matrix. Each caller writes what is its own (its own
/// lot numbers, enterprises, account names), so no write depends on another.
fn writes(revocable: Revocable) -> Vec<Row> {
    let mut rows = Vec::new();
    let index_of = |c: &Caller| {
        callers()
            .iter()
            .position(|d| d.name == c.name)
            .expect("a caller of the table")
    };
    let recorder = |c: &Caller| match c.kind {
        Operator(_) | Manager(_) | Admin | Designator => None,
        _ => c.gate(false),
    };

    rows.push(row(
        "POST /events (an opening of the caller's own enterprise)",
        Summary::Status,
        move |c| {
            let p = c.own().unwrap_or(Miner);
            send(
                Method::POST,
                "/events",
                opening(p, &format!("OWN-{}", index_of(c))),
            )
        },
        move |c| {
            recorder(c).unwrap_or_else(|| match c.kind {
                Operator(_) | Manager(_) => "201".to_owned(),
                _ => "403 forbidden (kind)".to_owned(),
            })
        },
    ));
    rows.push(row(
        "POST /events (an opening of another enterprise)",
        Summary::Status,
        move |c| {
            let p = if c.own() == Some(Miner) {
                Separator
            } else {
                Miner
            };
            send(
                Method::POST,
                "/events",
                opening(p, &format!("OTHER-{}", index_of(c))),
            )
        },
        move |c| {
            recorder(c).unwrap_or_else(|| match c.kind {
                Operator(_) | Manager(_) => "403 forbidden (enterprise)".to_owned(),
                _ => "403 forbidden (kind)".to_owned(),
            })
        },
    ));
    rows.push(row(
        "POST /events (an act registering an enterprise)",
        Summary::Status,
        move |c| {
            let uscc = new_enterprise(index_of(c), 1);
            send(
                Method::POST,
                "/events",
                with_act("register_enterprise", enterprise_body(&uscc)),
            )
        },
        move |c| {
            recorder(c).unwrap_or_else(|| match c.kind {
                Admin => "201".to_owned(),
                _ => "403 forbidden (act)".to_owned(),
            })
        },
    ));
    rows.push(row(
        "POST /events (an act designating an enterprise)",
        Summary::Status,
        |c| {
            let body = designation_body(Separator, "mining_rock", &format!("矩阵 {}", c.tag()));
            send(Method::POST, "/events", with_act("designate", body))
        },
        move |c| {
            recorder(c).unwrap_or_else(|| match c.kind {
                Designator => "201".to_owned(),
                _ => "403 forbidden (act)".to_owned(),
            })
        },
    ));
    rows.push(row(
        "POST /enterprises",
        Summary::Status,
        move |c| {
            let uscc = new_enterprise(index_of(c), 2);
            send(Method::POST, "/enterprises", enterprise_body(&uscc))
        },
        |c| c.gate(c.kind == Admin).unwrap_or_else(|| "201".to_owned()),
    ));
    rows.push(row(
        "POST /facilities",
        Summary::Status,
        |c| {
            let body = json!({"id": format!("WH-{}", c.tag()), "operator": Miner.uscc().as_str(),
                              "name_zh": "矩阵测试仓库（合成）", "region": "150206",
                              "type": "warehouse"});
            send(Method::POST, "/facilities", body)
        },
        |c| c.gate(c.kind == Admin).unwrap_or_else(|| "201".to_owned()),
    ));
    rows.push(row(
        "POST /designations",
        Summary::Status,
        |c| {
            let body = designation_body(Smelter, "separation", &format!("矩阵 {}", c.tag()));
            send(Method::POST, "/designations", body)
        },
        |c| {
            c.gate(c.kind == Designator)
                .unwrap_or_else(|| "201".to_owned())
        },
    ));
    rows.push(row(
        "POST /designations/revocations",
        Summary::Status,
        |c| {
            let body = json!({"enterprise": Miner.uscc().as_str(), "category": "mining_rock",
                              "from": "2025-12-01", "document": format!("矩阵 {}", c.tag())});
            send(Method::POST, "/designations/revocations", body)
        },
        |c| {
            c.gate(c.kind == Designator)
                .unwrap_or_else(|| "201".to_owned())
        },
    ));

    // Accounts and tokens: the administrator any, a manager its own enterprise's.
    for (what, role) in [
        (
            "an operator of the miner",
            format!("enterprise_operator:{}", Miner.uscc()),
        ),
        (
            "a regulator",
            "regulator:county:150206:industry_it".to_owned(),
        ),
    ] {
        let given = role.clone();
        rows.push(row(
            format!("POST /accounts ({what})"),
            Summary::Status,
            move |c| {
                let name = format!("{}.{}", &role[..3], c.name);
                send(
                    Method::POST,
                    "/accounts",
                    json!({"name": name, "role": role, "password": PASSWORD}),
                )
            },
            move |c| {
                c.gate(c.manages_accounts()).unwrap_or_else(|| {
                    if c.reaches_account(&given) {
                        "201".to_owned()
                    } else {
                        "403 forbidden (role)".to_owned()
                    }
                })
            },
        ));
    }
    for target in ["miner.clerk", "smelter.clerk"] {
        let role = role_of(target);
        rows.push(row(
            format!("POST /tokens (for {target})"),
            Summary::Status,
            move |_| {
                send(
                    Method::POST,
                    "/tokens",
                    json!({"account": target, "label": "matrix"}),
                )
            },
            move |c| {
                c.gate(c.manages_accounts()).unwrap_or_else(|| {
                    if c.reaches_account(&role) {
                        "201".to_owned()
                    } else {
                        "404 not-found".to_owned()
                    }
                })
            },
        ));
    }
    rows.push(row(
        "POST /tokens (for miner.clerk, as the administrator)",
        Summary::Status,
        |_| {
            send(
                Method::POST,
                "/tokens",
                json!({"account": "miner.clerk", "role": "administrator", "label": "matrix"}),
            )
        },
        |c| {
            // A token acts in its account's role; a manager may not give
            // the administrator's at all.
            c.gate(c.manages_accounts())
                .unwrap_or_else(|| match c.kind {
                    Admin => "403 forbidden (role)".to_owned(),
                    _ => "403 not-in-role".to_owned(),
                })
        },
    ));
    for (target, tokens) in [
        ("miner.clerk", revocable.miner),
        ("smelter.clerk", revocable.smelter),
    ] {
        let role = role_of(target);
        rows.push(row(
            format!("DELETE /tokens/{{a token of {target}}}"),
            Summary::Status,
            move |c| Request {
                method: Method::DELETE,
                path: format!("/tokens/{}", tokens[c.name]),
                body: None,
            },
            move |c| {
                c.gate(c.manages_accounts())
                    .unwrap_or_else(|| found(c.reaches_account(&role)))
            },
        ));
        let role = role_of(target);
        rows.push(row(
            format!("PATCH /accounts/{target} (display name)"),
            Summary::Status,
            move |c| {
                send(
                    Method::PATCH,
                    format!("/accounts/{target}"),
                    json!({"display_name": format!("改名 {}", c.name)}),
                )
            },
            move |c| {
                c.gate(c.manages_accounts())
                    .unwrap_or_else(|| found(c.reaches_account(&role)))
            },
        ));
    }
    rows.push(row(
        "DELETE /tokens/{no such token}",
        Summary::Status,
        |_| Request {
            method: Method::DELETE,
            path: "/tokens/AAAAAAAA".to_owned(),
            body: None,
        },
        |c| c.gate(c.manages_accounts()).unwrap_or_else(|| found(false)),
    ));
    rows.push(row(
        "PATCH /me (display name)",
        Summary::Status,
        |c| {
            send(
                Method::PATCH,
                "/me",
                json!({"display_name": format!("{}（矩阵）", c.name)}),
            )
        },
        |c| c.gate(true).unwrap_or_else(|| "200".to_owned()),
    ));
    rows
}

// ---------------------------------------------------------------------------
// Running the matrix.

/// The app, with the extra accounts of [`EXTRA`] and every caller's credentials.
struct Matrix {
    app: Arc<App>,
    credentials: BTreeMap<&'static str, Credentials>,
}

impl Matrix {
    async fn start() -> Matrix {
        let app = App::with_fixture().await;
        let mut credentials = BTreeMap::new();
        for (name, role) in EXTRA {
            let created = app
                .post_as(
                    "admin",
                    "/accounts",
                    &json!({"name": name, "role": role, "password": PASSWORD}),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
            credentials.insert(name, issue(&app, name).await);
        }
        for caller in callers() {
            let presented = match caller.kind {
                Anonymous => Credentials::None,
                Forged => {
                    let Credentials::Bearer(real) = app.token("miner.clerk") else {
                        unreachable!("test tokens are bearer tokens")
                    };
                    // Same id, another secret.
                    let mut forged = real.into_bytes();
                    let at = forged.len() - 5;
                    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
                    Credentials::Bearer(String::from_utf8(forged).unwrap())
                }
                _ if credentials.contains_key(caller.name) => continue,
                _ => app.token(caller.name),
            };
            credentials.insert(caller.name, presented);
        }
        Matrix {
            app: Arc::new(app),
            credentials,
        }
    }

    /// Makes every row's request as every caller, a few at a time, and
    /// answers with the observed and the expected matrix.
    async fn run(&self, rows: &[Row]) -> (Cells, Cells) {
        let callers = callers();
        let mut expected = Cells::new();
        let mut jobs = JoinSet::new();
        let gate = Arc::new(Semaphore::new(16));
        for r in rows {
            for c in &callers {
                let key = (r.label.clone(), c.name);
                assert!(
                    expected.insert(key.clone(), (r.expect)(c)).is_none(),
                    "two rows are labelled {}",
                    r.label
                );
                let request = (r.request)(c);
                let who = self.credentials[c.name].clone();
                let summary = r.summary.clone();
                let app = Arc::clone(&self.app);
                let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
                jobs.spawn(async move {
                    let body = request.body.map(|b| b.to_string().into_bytes());
                    let content_type = body.as_ref().map(|_| "application/json");
                    let answer = app
                        .send_as(
                            &who,
                            request.method,
                            &request.path,
                            content_type,
                            body.unwrap_or_default(),
                        )
                        .await;
                    drop(permit);
                    (key, summarise(&summary, &answer))
                });
            }
        }
        let mut observed = Cells::new();
        while let Some(done) = jobs.join_next().await {
            let (key, cell) = done.unwrap();
            observed.insert(key, cell);
        }
        (observed, expected)
    }
}

impl Matrix {
    /// A GET as a caller of the table.
    async fn get_as(&self, caller: &str, path: &str) -> Answer {
        self.app
            .send_as(
                &self.credentials[caller],
                Method::GET,
                path,
                None,
                Vec::new(),
            )
            .await
    }
}

type Cells = BTreeMap<(String, &'static str), String>;

async fn issue(app: &App, account: &str) -> Credentials {
    let issued = app
        .post_as(
            "admin",
            "/tokens",
            &json!({"account": account, "label": "matrix"}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
    Credentials::Bearer(issued.json()["token"].as_str().unwrap().to_owned())
}

async fn token_id(app: &App, account: &str) -> String {
    let issued = app
        .post_as(
            "admin",
            "/tokens",
            &json!({"account": account, "label": "to be revoked"}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
    issued.json()["id"].as_str().unwrap().to_owned()
}

/// Every cell that differs, one line each, grouped by row.
fn differences(observed: &Cells, expected: &Cells) -> Vec<String> {
    let mut out = Vec::new();
    for (key, want) in expected {
        let got = observed.get(key).map_or("(not asked)", String::as_str);
        if got != want {
            out.push(format!(
                "{:<60} as {:<20} expected `{want}`, got `{got}`",
                key.0, key.1
            ));
        }
    }
    out
}

/// The trail entries the matrix asks for by index, made before it runs.
async fn trail_marks(app: &App) -> TrailMarks {
    let read = |name: &'static str| async move {
        let answer = app.get_as(name, "/flags").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    };
    read("miner.clerk").await;
    read("smelter.clerk").await;
    let first = app
        .get_as("national.auditor", "/trail?action=account.create&limit=1")
        .await
        .json();
    let last = |filter: &'static str| async move {
        let page = app
            .get_as("national.auditor", &format!("/trail?{filter}&limit=1000"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        items(&page.json())
            .last()
            .and_then(|e| e["index"].as_u64())
            .unwrap_or_else(|| panic!("no trail entry for {filter}"))
    };
    TrailMarks {
        miner_read: last("account=miner.clerk&action=read").await,
        smelter_read: last("account=smelter.clerk&action=read").await,
        installation: items(&first)[0]["index"].as_u64().unwrap(),
    }
}

#[tokio::test]
async fn the_access_matrix_holds() {
    let matrix = Matrix::start().await;
    let app = Arc::clone(&matrix.app);
    let marks = trail_marks(&app).await;
    let installation = app
        .get_as(
            "national.auditor",
            &format!("/trail/proofs/inclusion?index={}", marks.installation),
        )
        .await
        .json();
    let entry = installation["entry"].as_str().unwrap();
    assert!(
        entry.contains("\"installation\"") && entry.contains("\"enterprises\":[]"),
        "the installation's account entry names no enterprise: {installation}"
    );
    let trail_reads = trail_reads(&marks);
    let (mut observed, mut expected) = matrix.run(&trail_reads).await;
    let universe = universe(&app).await;
    let reads = reads(&universe);
    let (seen, wanted) = matrix.run(&reads).await;
    observed.extend(seen);
    expected.extend(wanted);

    // The writes come after every read, so that no read sees what they record.
    let size = app.size().await;
    let mut revocable = Revocable {
        miner: BTreeMap::new(),
        smelter: BTreeMap::new(),
    };
    for c in callers() {
        revocable
            .miner
            .insert(c.name, token_id(&app, "miner.clerk").await);
        revocable
            .smelter
            .insert(c.name, token_id(&app, "smelter.clerk").await);
    }
    let writes = writes(revocable);
    let (written, wanted) = matrix.run(&writes).await;
    let ledger_rows = [
        "POST /events",
        "POST /enterprises",
        "POST /facilities",
        "POST /designations",
    ];
    let recorded = wanted
        .iter()
        .filter(|((label, _), cell)| {
            *cell == "201" && ledger_rows.iter().any(|r| label.starts_with(r))
        })
        .count() as u64;
    observed.extend(written);
    expected.extend(wanted);

    let rows = trail_reads.len() + reads.len() + writes.len();
    let columns = callers().len();
    let diff = differences(&observed, &expected);
    assert!(
        diff.is_empty(),
        "{} of {} cells ({rows} requests × {columns} callers) differ:\n{}",
        diff.len(),
        expected.len(),
        diff.join("\n")
    );
    assert_eq!(
        app.size().await,
        size + recorded,
        "exactly the permitted writes were recorded"
    );
}

// ---------------------------------------------------------------------------
// What a region does not supervise, through every endpoint.

/// Every GET a reader can make of the fixture: every listing whole, and every
/// entry, lot, enterprise and facility by itself.
fn every_read() -> Vec<String> {
    let mut paths: Vec<String> = [
        "/events?limit=1000",
        "/stock?include_empty=true&limit=1000",
        "/flags?limit=1000",
        "/enterprises",
        "/facilities",
        "/designations",
        "/groups",
        "/me",
        "/session",
        "/trail?limit=1000",
        "/trail/checkpoint",
    ]
    .map(str::to_owned)
    .to_vec();
    for index in 0..fixture().len() {
        paths.push(format!("/events/{index}"));
        paths.push(format!("/events/{index}/receipt"));
    }
    for p in EVERY {
        let u = p.uscc();
        paths.extend([
            format!("/events?enterprise={u}"),
            format!("/stock?holder={u}&include_empty=true"),
            format!("/flags?enterprise={u}"),
            format!("/enterprises/{u}"),
            format!("/facilities?operator={u}"),
            format!("/designations?enterprise={u}"),
        ]);
        paths.extend(p.facilities().iter().map(|f| format!("/facilities/{f}")));
    }
    for l in EVERY_LOT {
        let id = l.id();
        paths.extend([
            format!("/lots/{id}"),
            format!("/events?lot={id}"),
            format!("/stock?lot={id}&include_empty=true"),
            format!("/trace?lot={id}&direction=backward&limit=1000"),
            format!("/trace?lot={id}&direction=forward&limit=1000"),
        ]);
    }
    paths
}

/// The entries of flows recorded by enterprises outside `supervised` that
/// name none of `supervised`, and the confidential texts they hold
/// (shipment numbers, documents, declarations, reasons).
fn unsupervised_flows(supervised: &[P]) -> (BTreeSet<u64>, BTreeSet<String>) {
    let codes: Vec<String> = supervised.iter().map(|p| p.uscc().to_string()).collect();
    let mut entries = BTreeSet::new();
    let mut texts = BTreeSet::new();
    for (index, record) in (0u64..).zip(fixture()) {
        let by = P::of(record.enterprise().as_str()).unwrap();
        let json = serde_json::to_value(&record).unwrap();
        let text = json.to_string();
        if supervised.contains(&by) || codes.iter().any(|c| text.contains(c.as_str())) {
            continue;
        }
        if let Record::Flow(_) = record {
            entries.insert(index);
            for key in [
                "shipment",
                "document",
                "contract",
                "invoice",
                "customs_declaration",
                "reason",
                "note",
            ] {
                if let Some(v) = json[key].as_str() {
                    texts.insert(v.to_owned());
                }
            }
            for d in json["documents"].as_array().into_iter().flatten() {
                texts.insert(str_of(d).to_owned());
            }
        }
    }
    (entries, texts)
}

/// Walks every object of an answer.
fn objects<'a>(value: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            out.push(map);
            for v in map.values() {
                objects(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| objects(v, out)),
        _ => {}
    }
}

/// Asks every read of [`every_read`] as `account`, whose region supervises
/// `supervised`, and answers with what it saw of the flows it does not
/// supervise: nothing, when the list is empty.
async fn what_leaks(matrix: &Matrix, account: &str, supervised: &[P]) -> Vec<String> {
    let (hidden, texts) = unsupervised_flows(supervised);
    assert!(!hidden.is_empty() && !texts.is_empty());
    let codes: BTreeSet<String> = supervised.iter().map(|p| p.uscc().to_string()).collect();
    let mut leaks = Vec::new();
    for path in every_read() {
        let answer = matrix.get_as(account, &path).await;
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        for t in &texts {
            if text.contains(t.as_str()) {
                leaks.push(format!("{path} shows `{t}`"));
            }
        }
        if let Some(index) = path
            .strip_prefix("/events/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|i| i.parse::<u64>().ok())
            && hidden.contains(&index)
            && answer.status != StatusCode::NOT_FOUND
        {
            leaks.push(format!("{path} answers {}", answer.status));
        }
        if !answer.content_type().contains("json") || !answer.status.is_success() {
            continue;
        }
        let body = answer.json();
        let mut found = Vec::new();
        objects(&body, &mut found);
        for o in found {
            let index = o.get("index").and_then(Value::as_u64);
            if o.contains_key("record") && index.is_some_and(|i| hidden.contains(&i)) {
                leaks.push(format!("{path} lists entry {index:?}"));
            }
            if let Some(entry) = o.get("entry").and_then(Value::as_u64)
                && hidden.contains(&entry)
                && (o.get("disclosed") != Some(&json!(false))
                    || !o["mass"].is_null()
                    || !o["reo"].is_null())
            {
                leaks.push(format!("{path} discloses the edge of entry {entry}"));
            }
            if let Some(flagged) = o.get("entries").and_then(Value::as_array)
                && flagged
                    .iter()
                    .any(|e| e.as_u64().is_some_and(|i| hidden.contains(&i)))
            {
                leaks.push(format!("{path} flags a hidden entry: {flagged:?}"));
            }
            if let (Some(holder), Some(owner)) = (o.get("holder"), o.get("owner"))
                && !codes.contains(str_of(holder))
                && !codes.contains(str_of(owner))
            {
                leaks.push(format!(
                    "{path} shows a position of {}/{}",
                    party_name(str_of(holder)),
                    party_name(str_of(owner))
                ));
            }
        }
    }
    leaks
}

/// The issue's "done when": a regulator for Ganzhou cannot see, through any
/// endpoint, a Baotou enterprise's flows that involve no enterprise it
/// supervises — though the Ganzhou smelter receives from the Baotou
/// separator, and traces through it — and the same holds the other way round
/// and for an auditor.
#[tokio::test]
async fn a_region_sees_no_flow_that_involves_none_of_its_enterprises() {
    let matrix = Matrix::start().await;
    let app = &matrix.app;
    // The smelter's own receipt from the separator is Ganzhou's to see.
    let receipt = app.get_as("ganzhou.city", "/events/20").await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.text());
    assert_eq!(receipt.json()["record"]["from"], Separator.uscc().as_str());
    let trace = app
        .get_as(
            "ganzhou.city",
            &format!("/trace?lot={}&direction=backward", NdMetal.id()),
        )
        .await
        .json();
    let through: BTreeSet<String> = trace["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| party_name(str_of(&e["enterprise"])))
        .collect();
    assert!(through.contains("separator"), "{trace}");

    for (account, supervised) in [
        ("ganzhou.city", GANZHOU),
        ("ganzhou.auditor", GANZHOU),
        ("zhanggong.county", &[Smelter][..]),
        ("baotou.city", BAOTOU),
        ("qingshan.county", &[Warehouse][..]),
    ] {
        let leaks = what_leaks(&matrix, account, supervised).await;
        assert!(leaks.is_empty(), "{account}:\n{}", leaks.join("\n"));
    }
}

/// What a trail entry's actor and subjects place it in: the region whose
/// auditors see it.
fn trail_entry_in(entry: &Value, region: &str, supervised: &[P]) -> bool {
    let role = entry["actor"]["role"]
        .as_str()
        .map(|r| retrace_access::Role::parse(r).unwrap());
    let actor_region = role.as_ref().and_then(|r| r.region());
    let actor_enterprise = role.as_ref().and_then(|r| r.enterprise()).cloned();
    let codes: Vec<String> = supervised.iter().map(|p| p.uscc().to_string()).collect();
    actor_region.is_some_and(|r| r.as_str().starts_with(region))
        || entry["region"]
            .as_str()
            .is_some_and(|r| r.starts_with(region))
        || entry["enterprises"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| codes.iter().any(|c| c == str_of(e)))
        || actor_enterprise.is_some_and(|e| codes.iter().any(|c| c == e.as_str()))
}

/// An auditor reads the trail of its region, whole, and nothing of another:
/// by listing, by filter, or by asking for an entry's proof.
#[tokio::test]
async fn an_auditor_reads_the_trail_of_its_region_only() {
    let matrix = Matrix::start().await;
    let app = &matrix.app;
    for (account, path) in [
        ("miner.clerk", format!("/lots/{}", Ore.id())),
        ("smelter.clerk", format!("/lots/{}", NdMetal.id())),
        ("baotou.city", "/events".to_owned()),
        ("ganzhou.city", "/events".to_owned()),
    ] {
        assert_eq!(app.get_as(account, &path).await.status, StatusCode::OK);
    }
    let everything = app.get_as("national.auditor", "/trail?limit=1000").await;
    let everything = everything.json();
    let all = items(&everything);
    for (auditor, region, supervised, theirs, not_theirs) in [
        (
            "ganzhou.auditor",
            "3607",
            GANZHOU,
            ["smelter.clerk", "ganzhou.city"],
            ["miner.clerk", "baotou.city"],
        ),
        (
            "neimenggu.auditor",
            "15",
            BAOTOU,
            ["miner.clerk", "baotou.city"],
            ["smelter.clerk", "ganzhou.city"],
        ),
    ] {
        let page = app.get_as(auditor, "/trail?limit=1000").await.json();
        let seen = items(&page);
        let expected: Vec<u64> = all
            .iter()
            .filter(|e| trail_entry_in(e, region, supervised))
            .filter_map(|e| e["index"].as_u64())
            .collect();
        let got: Vec<u64> = seen.iter().filter_map(|e| e["index"].as_u64()).collect();
        // The auditor's own reads come after the national auditor's listing.
        assert!(
            got.starts_with(&expected),
            "{auditor} sees {got:?}, its region holds {expected:?}"
        );
        for e in seen {
            assert!(trail_entry_in(e, region, supervised), "{auditor}: {e}");
        }
        let by = |a: &str| seen.iter().any(|e| e["actor"]["account"] == a);
        for a in theirs {
            assert!(by(a), "{auditor} sees nothing by {a}");
        }
        for a in not_theirs {
            assert!(!by(a), "{auditor} sees what {a} did");
            let filtered = app
                .get_as(auditor, &format!("/trail?account={a}"))
                .await
                .json();
            assert!(items(&filtered).is_empty(), "{auditor}: {filtered}");
        }
        for e in all
            .iter()
            .filter(|e| !trail_entry_in(e, region, supervised))
        {
            let index = e["index"].as_u64().unwrap();
            let proof = app
                .get_as(auditor, &format!("/trail/proofs/inclusion?index={index}"))
                .await;
            proof.problem(StatusCode::NOT_FOUND);
        }
    }
}

/// An answer as it would read for another id: `id` replaced by `{id}`.
fn generic(answer: &Answer, id: &str) -> String {
    format!(
        "{} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body).replace(id, "{id}")
    )
}

/// Out of scope is answered word for word like what does not exist, so that
/// not even the detail tells them apart.
#[tokio::test]
async fn out_of_scope_reads_like_nonexistent() {
    let matrix = Matrix::start().await;
    let app = &matrix.app;
    let nowhere = common::lot(&Miner.uscc(), "NEVER-MADE");
    let no_enterprise = Uscc::synthesize("150206", 999).to_string();
    let miner_token = token_id(app, "miner.clerk").await;
    let marks = trail_marks(app).await;
    let miner_read = marks.miner_read.to_string();
    let cases: Vec<(&str, Method, String, String, String, String)> = vec![
        (
            "ganzhou.city",
            Method::GET,
            "/lots/{id}".into(),
            Ore.id().to_string(),
            nowhere.clone(),
            String::new(),
        ),
        (
            "ganzhou.city",
            Method::GET,
            "/trace?lot={id}".into(),
            Ore.id().to_string(),
            nowhere.clone(),
            String::new(),
        ),
        (
            "ganzhou.city",
            Method::GET,
            "/events/{id}".into(),
            "15".into(),
            "999".into(),
            String::new(),
        ),
        (
            "ganzhou.city",
            Method::GET,
            "/events/{id}/receipt".into(),
            "15".into(),
            "999".into(),
            String::new(),
        ),
        (
            "ganzhou.city",
            Method::GET,
            "/enterprises/{id}".into(),
            Miner.uscc().to_string(),
            no_enterprise,
            String::new(),
        ),
        (
            "ganzhou.city",
            Method::GET,
            "/facilities/{id}".into(),
            "MINE-A".into(),
            "NOWHERE-1".into(),
            String::new(),
        ),
        (
            "smelter.boss",
            Method::GET,
            "/accounts/{id}".into(),
            "miner.clerk".into(),
            "nobody.at.all".into(),
            String::new(),
        ),
        (
            "smelter.boss",
            Method::PATCH,
            "/accounts/{id}".into(),
            "miner.clerk".into(),
            "nobody.at.all".into(),
            json!({"display_name": "x"}).to_string(),
        ),
        (
            "smelter.boss",
            Method::POST,
            "/tokens".into(),
            "miner.clerk".into(),
            "nobody.at.all".into(),
            json!({"account": "{id}", "label": "x"}).to_string(),
        ),
        (
            "smelter.boss",
            Method::DELETE,
            "/tokens/{id}".into(),
            miner_token,
            "AAAAAAAA".into(),
            String::new(),
        ),
        (
            "ganzhou.auditor",
            Method::GET,
            "/trail/proofs/inclusion?index={id}".into(),
            miner_read,
            "999999".into(),
            String::new(),
        ),
    ];
    for (account, method, path, hidden, missing, body) in cases {
        let ask = |id: &str| {
            let path = path.replace("{id}", id);
            let body = body.replace("{id}", id).into_bytes();
            let content_type = (!body.is_empty()).then_some("application/json");
            let method = method.clone();
            let who = app.token(account);
            async move { app.send_as(&who, method, &path, content_type, body).await }
        };
        let out_of_scope = ask(&hidden).await;
        out_of_scope.problem(StatusCode::NOT_FOUND);
        let nonexistent = ask(&missing).await;
        assert_eq!(
            generic(&out_of_scope, &hidden),
            generic(&nonexistent, &missing),
            "{account} {method} {path}"
        );
    }
}

/// A manager changes the roles of its own enterprise's accounts within the
/// enterprise only; another enterprise's accounts do not exist for it.
#[tokio::test]
async fn a_manager_changes_roles_within_its_enterprise_only() {
    let matrix = Matrix::start().await;
    let app = &matrix.app;
    let miner = Miner.uscc();
    let created = app
        .post_as(
            "miner.boss",
            "/accounts",
            &json!({"name": "miner.night", "role": format!("enterprise_operator:{miner}"),
                    "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let patch = |account: &'static str, target: &'static str, body: Value| async move {
        app.send_as(
            &app.token(account),
            Method::PATCH,
            &format!("/accounts/{target}"),
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    };
    for role in [
        "administrator".to_owned(),
        format!("enterprise_manager:{}", Smelter.uscc()),
        "regulator:county:150206:industry_it".to_owned(),
    ] {
        let problem = patch("miner.boss", "miner.night", json!({"role": role}))
            .await
            .problem(StatusCode::FORBIDDEN);
        assert_eq!(problem["field"], "role", "{problem}");
    }
    let promoted = patch(
        "miner.boss",
        "miner.night",
        json!({"role": format!("enterprise_manager:{miner}")}),
    )
    .await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text());
    assert_eq!(
        promoted.json()["role"],
        format!("enterprise_manager:{miner}")
    );
    for (account, target) in [("smelter.boss", "miner.night"), ("miner.boss", "admin")] {
        patch(account, target, json!({"disabled": true}))
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    let disabled = patch("admin", "miner.night", json!({"disabled": true})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
    assert_eq!(disabled.json()["disabled"], true);
}

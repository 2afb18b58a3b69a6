//! The regulator's view of its region (Art. 4, 9, 12, 13): the enterprises
//! whose seat or any facility lies in it, drilled down province →
//! prefecture → county → enterprise, with the flags raised on each; an
//! enterprise with its facilities, designations, flags and entries; and the
//! flags themselves. A group manager sees its member enterprises the same
//! way. Every read is under the caller's scope, so a region outside it is a
//! 404 page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use retrace_access::{Language, Role};
use retrace_domain::enterprise::Enterprise;
use retrace_domain::facility::FacilityKind;
use retrace_domain::region::{RegionCode, Regions};
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_store::{
    EnterpriseFilter, EnterpriseView, FlagFilter, FlagView, Identity, PageRequest, Scope, Store,
};
use serde::Deserialize;

use super::chrome::Chrome;
use super::enterprise::{FlagRow, entry_row, flag_row, recent};
use super::i18n::Tr;
use super::lot::token;
use super::view::{query_escape, render_for};
use super::{PageError, St, signed_in};
use crate::AppState;
use crate::auth::{Caller, Subjects};
use crate::problem::ApiError;

/// The most pages of a listing one dashboard reads.
const MAX_PAGES: usize = 20;

/// An enterprise's name in the page's language.
pub(crate) fn enterprise_name(t: Tr, e: &Enterprise) -> String {
    match (t.language(), &e.name_en) {
        (Language::En, Some(en)) => en.clone(),
        _ => e.name_zh.clone(),
    }
}

/// The region a caller's dashboard starts at: its own, or the whole country.
fn home_region(role: &Role) -> RegionCode {
    role.region().unwrap_or_else(RegionCode::nation)
}

/// Every item of a paged listing, up to [`MAX_PAGES`] pages.
async fn all_enterprises<S: Store>(
    state: &AppState<S>,
    scope: &Scope,
    region: RegionCode,
) -> Result<Vec<EnterpriseView>, PageError> {
    let filter = EnterpriseFilter {
        region: (region != RegionCode::nation()).then_some(region),
        ..EnterpriseFilter::default()
    };
    let mut page = PageRequest::first(retrace_store::MAX_PAGE);
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let got = state.store.enterprises(scope, &filter, &page).await?;
        out.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    Ok(out)
}

async fn all_flags<S: Store>(
    state: &AppState<S>,
    scope: &Scope,
    filter: &FlagFilter,
) -> Result<Vec<FlagView>, PageError> {
    let mut page = PageRequest::first(retrace_store::MAX_PAGE);
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let got = state.store.flags(scope, filter, &page).await?;
        out.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    Ok(out)
}

/// Whether an enterprise lies in `region`: its seat or any facility.
fn lies_in(regions: &Regions, e: &EnterpriseView, region: &RegionCode) -> bool {
    regions.contains(region, &e.enterprise.seat)
        || e.facilities
            .iter()
            .any(|f| regions.contains(region, &f.region))
}

struct Crumb {
    href: String,
    name: String,
}

struct ChildRow {
    href: String,
    name: String,
    enterprises: usize,
    flags: usize,
}

struct EnterpriseRow {
    uscc: String,
    name: String,
    kinds: String,
    flags: usize,
}

#[derive(Template)]
#[template(path = "region.html")]
struct RegionPage {
    p: Chrome,
    region: String,
    level: &'static str,
    crumbs: Vec<Crumb>,
    enterprises: usize,
    flagged: usize,
    flags: usize,
    by_rule: Vec<(&'static str, usize)>,
    children: Vec<ChildRow>,
    quiet: usize,
    rows: Vec<EnterpriseRow>,
}

fn level_key(code: &RegionCode) -> &'static str {
    use retrace_domain::region::RegionLevel;
    match code.level() {
        RegionLevel::Nation => "level.nation",
        RegionLevel::Province => "level.province",
        RegionLevel::Prefecture => "level.prefecture",
        RegionLevel::County => "level.county",
    }
}

/// `GET /region`: the dashboard of the caller's own region.
pub(crate) async fn dashboard<S: Store + Identity>(
    state: St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let region = home_region(caller.principal().role());
    show(state, caller, uri, region).await
}

/// `GET /region/{code}`: one region below the caller's own.
pub(crate) async fn dashboard_of<S: Store + Identity>(
    state: St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let region: RegionCode = code.parse().map_err(|_| PageError::NotFound)?;
    let home = home_region(caller.principal().role());
    if !Regions::embedded().contains(&home, &region) {
        return Err(PageError::NotFound);
    }
    show(state, caller, uri, region).await
}

async fn show<S: Store + Identity>(
    State(state): St<S>,
    caller: Caller,
    uri: OriginalUri,
    region: RegionCode,
) -> Result<Response, PageError> {
    let read = caller.read()?;
    let scope = read.scope();
    let regions = Regions::embedded();
    let home = home_region(caller.principal().role());
    let p = Chrome::new(&state, &caller, &uri.0, "title.region").await?;
    let t = p.t;
    let enterprises = all_enterprises(&state, scope, region).await?;
    let flags = all_flags(&state, scope, &FlagFilter::default()).await?;
    let mut per_enterprise: BTreeMap<&Uscc, usize> = BTreeMap::new();
    let mut per_rule: BTreeMap<Rule, usize> = BTreeMap::new();
    let inside: Vec<&Uscc> = enterprises.iter().map(|e| &e.enterprise.uscc).collect();
    for f in &flags {
        if inside.contains(&&f.enterprise) {
            *per_enterprise.entry(&f.enterprise).or_default() += 1;
            *per_rule.entry(f.rule).or_default() += 1;
        }
    }
    let mut children = Vec::new();
    let mut quiet = 0;
    for child in regions.children(&region) {
        let members: Vec<&EnterpriseView> = enterprises
            .iter()
            .filter(|e| lies_in(regions, e, child))
            .collect();
        if members.is_empty() {
            quiet += 1;
            continue;
        }
        children.push(ChildRow {
            href: format!("/region/{child}"),
            name: regions.full_name(child),
            enterprises: members.len(),
            flags: members
                .iter()
                .map(|e| per_enterprise.get(&e.enterprise.uscc).copied().unwrap_or(0))
                .sum(),
        });
    }
    children.sort_by(|a, b| {
        b.flags
            .cmp(&a.flags)
            .then(b.enterprises.cmp(&a.enterprises))
    });
    let mut rows: Vec<EnterpriseRow> = enterprises
        .iter()
        .map(|e| EnterpriseRow {
            uscc: e.enterprise.uscc.to_string(),
            name: enterprise_name(t, &e.enterprise),
            kinds: e
                .enterprise
                .kinds
                .iter()
                .map(|k| t.of("ekind", &token(*k)))
                .collect::<Vec<_>>()
                .join("、"),
            flags: per_enterprise.get(&e.enterprise.uscc).copied().unwrap_or(0),
        })
        .collect();
    rows.sort_by(|a, b| b.flags.cmp(&a.flags).then(a.uscc.cmp(&b.uscc)));
    let mut crumbs = Vec::new();
    let mut at = Some(region);
    while let Some(code) = at {
        crumbs.push(Crumb {
            href: format!("/region/{code}"),
            name: if code == RegionCode::nation() {
                t.s("level.nation").to_owned()
            } else {
                regions.name(&code).to_owned()
            },
        });
        if code == home {
            break;
        }
        at = regions.parent(&code);
    }
    crumbs.reverse();
    let subjects = Subjects::of(enterprises.iter().map(|e| &e.enterprise.uscc));
    let page = RegionPage {
        region: if region == RegionCode::nation() {
            t.s("level.nation").to_owned()
        } else {
            regions.full_name(&region)
        },
        level: t.s(level_key(&region)),
        crumbs,
        enterprises: enterprises.len(),
        flagged: per_enterprise.len(),
        flags: per_enterprise.values().sum(),
        by_rule: per_rule
            .iter()
            .map(|(r, n)| (t.of("rule", r.as_str()), *n))
            .collect(),
        children,
        quiet,
        rows,
        p,
    };
    render_for(&page, subjects)
}

struct FacilityRow {
    id: String,
    name: String,
    kind: &'static str,
    region: String,
    licence: String,
    permits: Vec<String>,
}

struct DesignationRow {
    category: &'static str,
    from: String,
    to: String,
    document: String,
}

#[derive(Template)]
#[template(path = "enterprise_page.html")]
struct EnterprisePage {
    p: Chrome,
    name: String,
    uscc: String,
    seat: String,
    group: Option<&'static str>,
    kinds: String,
    facilities: Vec<FacilityRow>,
    designations: Vec<DesignationRow>,
    flags: Vec<FlagRow>,
    entries: Vec<super::enterprise::EntryRow>,
}

/// `GET /enterprises/{uscc}`: an enterprise in scope.
pub(crate) async fn enterprise<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let uscc: Uscc = uscc.parse().map_err(|_| PageError::NotFound)?;
    let scope = caller.register_scope()?;
    let view = state.store.enterprise(&scope, &uscc).await?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.enterprise_page").await?;
    let t = p.t;
    let regions = Regions::embedded();
    let (flags, entries) = match caller.read() {
        Ok(read) => {
            let flags = all_flags(
                &state,
                read.scope(),
                &FlagFilter {
                    enterprise: Some(uscc.clone()),
                    ..FlagFilter::default()
                },
            )
            .await?;
            let entries = recent(&state, read.scope(), &uscc, 20).await?;
            (flags, entries)
        }
        Err(_) => (Vec::new(), Vec::new()),
    };
    let e = &view.enterprise;
    let page = EnterprisePage {
        name: enterprise_name(t, e),
        uscc: uscc.to_string(),
        seat: regions.full_name(&e.seat),
        group: e.group.map(|g| t.of("group", &token(g))),
        kinds: e
            .kinds
            .iter()
            .map(|k| t.of("ekind", &token(*k)))
            .collect::<Vec<_>>()
            .join("、"),
        facilities: view
            .facilities
            .iter()
            .map(|f| FacilityRow {
                id: f.id.to_string(),
                name: f.name_zh.clone(),
                kind: match &f.kind {
                    FacilityKind::Mine { .. } => t.s("facility.mine"),
                    FacilityKind::Plant { .. } => t.s("facility.plant"),
                    FacilityKind::Warehouse => t.s("facility.warehouse"),
                },
                region: regions.full_name(&f.region),
                licence: match &f.kind {
                    FacilityKind::Mine {
                        licence,
                        licence_valid_to,
                        ..
                    } => format!("{licence} ({licence_valid_to})"),
                    FacilityKind::Plant { processes, .. } => processes
                        .iter()
                        .map(|p| t.of("process", &token(*p)))
                        .collect::<Vec<_>>()
                        .join("、"),
                    FacilityKind::Warehouse => String::new(),
                },
                permits: f
                    .permits
                    .iter()
                    .map(|p| format!("{} {} ({})", p.kind, p.number, p.valid_to))
                    .collect(),
            })
            .collect(),
        designations: view
            .designations
            .iter()
            .map(|d| DesignationRow {
                category: t.of("category", &d.category.to_string()),
                from: d.valid_from.to_string(),
                to: d.valid_to.to_string(),
                document: d.document.clone(),
            })
            .collect(),
        flags: flags.iter().map(|f| flag_row(t, f)).collect(),
        entries: entries.iter().map(|e| entry_row(t, e)).collect(),
        p,
    };
    render_for(&page, Subjects::of([&uscc]))
}

#[derive(Debug, Deserialize)]
pub(crate) struct FlagQuery {
    #[serde(default)]
    rule: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    key: String,
}

#[derive(Template)]
#[template(path = "flags.html")]
struct FlagsPage {
    p: Chrome,
    rules: Vec<(&'static str, &'static str, bool)>,
    month: String,
    flags: Vec<FlagRow>,
}

/// `GET /flags`: the flags of the caller's scope, by rule and month.
pub(crate) async fn flags<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Query(q): Query<FlagQuery>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let read = caller.read()?;
    let rule = Rule::parse(q.rule.trim());
    let month = crate::params::month(Some(&q.month)).unwrap_or(None);
    let filter = FlagFilter {
        rule,
        month: month.clone(),
        ..FlagFilter::default()
    };
    let found = all_flags(&state, read.scope(), &filter).await?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.flags").await?;
    let t = p.t;
    let page = FlagsPage {
        rules: Rule::ALL
            .iter()
            .map(|r| (r.as_str(), t.of("rule", r.as_str()), Some(*r) == rule))
            .collect(),
        month: month.unwrap_or_default(),
        flags: found.iter().map(|f| flag_row(t, f)).collect(),
        p,
    };
    render_for(&page, Subjects::of(found.iter().map(|f| &f.enterprise)))
}

#[derive(Template)]
#[template(path = "flag.html")]
struct FlagPage {
    p: Chrome,
    flag: FlagRow,
    about: &'static str,
    facility: Option<String>,
    entries: Vec<u64>,
    enterprise_href: String,
}

/// `GET /flag?key=…`: one flag, what its rule means and the entries behind it.
pub(crate) async fn flag<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Query(q): Query<FlagQuery>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let read = caller.read()?;
    let rule = q.key.split(':').next().and_then(Rule::parse);
    let filter = FlagFilter {
        rule,
        ..FlagFilter::default()
    };
    let found = all_flags(&state, read.scope(), &filter).await?;
    let f = found
        .iter()
        .find(|f| f.key == q.key)
        .ok_or(PageError::NotFound)?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.flag").await?;
    let t = p.t;
    let page = FlagPage {
        flag: flag_row(t, f),
        about: t.of("rule_about", f.rule.as_str()),
        facility: f.facility.as_ref().map(ToString::to_string),
        entries: f.entries.clone(),
        enterprise_href: format!("/enterprises/{}", query_escape(f.enterprise.as_str())),
        p,
    };
    render_for(&page, Subjects::of([&f.enterprise]))
}

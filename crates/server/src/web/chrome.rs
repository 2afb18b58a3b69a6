//! The frame around every page: the language it is written in, who is
//! logged in, the menu of what the caller's role may do, and the session's
//! CSRF token for the forms on it.
//!
//! The menu is built from capabilities, not from a list per role, so that a
//! page that comes with a later issue (quota gauges, the month's submission,
//! allocations, inspections, the alert queue) is one more entry guarded by
//! its capability.

use axum::http::{HeaderMap, Uri};
use retrace_access::{Capability, Language, Role};
use retrace_domain::region::Regions;
use retrace_store::{Identity, Store};

use super::PageError;
use super::i18n::Tr;
use crate::AppState;
use crate::auth::{Caller, session_cookie};

/// The cookie that keeps the language of a browser before it logs in.
pub(crate) const LANGUAGE_COOKIE: &str = "retrace_lang";

/// One entry of the menu.
#[derive(Debug)]
pub(crate) struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// Who is logged in, as the frame shows it.
#[derive(Debug)]
pub(crate) struct User {
    pub name: String,
    pub role: String,
}

/// The frame of a page.
#[derive(Debug)]
pub(crate) struct Chrome {
    pub t: Tr,
    pub title: &'static str,
    pub user: Option<User>,
    pub nav: Vec<NavItem>,
    /// The session's CSRF token; empty without a session.
    pub csrf: String,
    /// This page's path and query, to come back to after the language switch.
    pub back: String,
}

impl Chrome {
    /// The URL of an embedded asset, versioned by its content.
    pub(crate) fn asset(&self, name: &str) -> String {
        super::assets::url(name)
    }

    /// The frame of a page for a logged-in caller, in the account's language.
    ///
    /// # Errors
    /// A store failure.
    pub(crate) async fn new<S: Store + Identity>(
        state: &AppState<S>,
        caller: &Caller,
        uri: &Uri,
        title: &str,
    ) -> Result<Chrome, PageError> {
        let p = caller.principal();
        let account = state
            .store
            .account(p.account())
            .await?
            .ok_or(PageError::NotFound)?;
        let t = Tr::new(account.language);
        let display = if account.display_name.is_empty() {
            account.name.to_string()
        } else {
            account.display_name
        };
        Ok(Chrome {
            t,
            title: t.s(title),
            user: Some(User {
                name: display,
                role: role_label(t, p.role()),
            }),
            nav: nav(t, p.role(), uri.path()),
            csrf: caller
                .session()
                .map(|s| state.csrf.token(s).expose_secret().to_owned())
                .unwrap_or_default(),
            back: back_of(uri),
        })
    }

    /// The frame of a page anyone may see, in the browser's chosen language.
    pub(crate) fn anonymous(headers: &HeaderMap, uri: &Uri, title: &str) -> Chrome {
        let t = Tr::new(browser_language(headers));
        Chrome {
            t,
            title: t.s(title),
            user: None,
            nav: Vec::new(),
            csrf: String::new(),
            back: back_of(uri),
        }
    }
}

fn back_of(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned())
}

/// The language a browser chose before logging in: its cookie, else
/// Simplified Chinese.
pub(crate) fn browser_language(headers: &HeaderMap) -> Language {
    session_cookie(headers, LANGUAGE_COOKIE)
        .and_then(Language::parse)
        .unwrap_or_default()
}

/// The role as the frame names it: its kind, and the region of an official.
pub(crate) fn role_label(t: Tr, role: &Role) -> String {
    let kind = match role {
        Role::EnterpriseOperator { .. } => "role.enterprise_operator",
        Role::EnterpriseManager { .. } => "role.enterprise_manager",
        Role::GroupManager { .. } => "role.group_manager",
        Role::Regulator(_) => "role.regulator",
        Role::Inspector { .. } => "role.inspector",
        Role::Auditor { .. } => "role.auditor",
        Role::Administrator => "role.administrator",
    };
    match role.region() {
        Some(region) => format!("{} · {}", t.s(kind), Regions::embedded().full_name(&region)),
        None => t.s(kind).to_owned(),
    }
}

/// The menu of a role: what its capabilities let it do.
fn nav(t: Tr, role: &Role, path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str)> = Vec::new();
    if role.enterprise().is_some() {
        items.extend([
            ("/enterprise", "nav.enterprise"),
            ("/record", "nav.record"),
            ("/upload", "nav.upload"),
            ("/stock", "nav.stock"),
        ]);
    } else if role.has(Capability::ReadScoped) {
        items.extend([("/region", "nav.region"), ("/flags", "nav.flags")]);
    }
    if role.has(Capability::Designate) {
        items.push(("/designations", "nav.designations"));
    }
    if role.has(Capability::ReadAuditTrail) {
        items.extend([("/ledger", "nav.ledger"), ("/trail", "nav.trail")]);
    }
    if role.has(Capability::AdministerAccounts) || role.has(Capability::ManageEnterpriseUsers) {
        items.extend([("/accounts", "nav.accounts"), ("/tokens", "nav.tokens")]);
    }
    if role.has(Capability::AdministerRegister) {
        items.push(("/register", "nav.register"));
    }
    items.push(("/account", "nav.account"));
    items
        .into_iter()
        .map(|(href, key)| NavItem {
            href,
            label: t.s(key),
            current: path == href || path.starts_with(&format!("{href}/")),
        })
        .collect()
}

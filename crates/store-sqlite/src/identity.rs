//! Accounts, sessions, API tokens and login throttle state in the tables of
//! schema 2 (`retrace_store::identity`). Changes run on the writer's
//! connection inside its transaction, each with its trail entry; lookups run
//! on a read connection.

use retrace_access::{
    Account, AccountAuthority, AccountName, PasswordHash, SecretDigest, StoredSession, StoredToken,
    ThrottleKey, ThrottleState, TokenId,
};
use retrace_store::identity::rules::{
    self, account_name, digest, language, parse_time, role, time_text,
};
pub(crate) use retrace_store::identity::{Change, Done};
use retrace_store::{AccountChange, AccountView, Page, PageRequest, StoreError, TokenView};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use time::OffsetDateTime;

use crate::codec::RecordTime;
use crate::error::{DbError, DbResult};

const ACCOUNT_COLUMNS: &str =
    "name, role, password, disabled, display_name, language, created_at, updated_at";

fn account_row(r: &Row<'_>) -> DbResult<(Account, String, String)> {
    let password: String = r.get(2)?;
    Ok((
        Account {
            name: account_name(&r.get::<_, String>(0)?)?,
            role: role(&r.get::<_, String>(1)?)?,
            password: PasswordHash::parse(&password)
                .map_err(|e| DbError::corrupt("password hash", e))?,
            disabled: r.get(3)?,
            display_name: r.get(4)?,
            language: language(&r.get::<_, String>(5)?)?,
        },
        r.get(6)?,
        r.get(7)?,
    ))
}

/// The account of `name` with its times, if any.
fn load_account(
    conn: &Connection,
    name: &AccountName,
) -> DbResult<Option<(Account, String, String)>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE name = ?1");
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query([name.as_str()])?;
    rows.next()?.map(account_row).transpose()
}

pub(crate) fn account(conn: &Connection, name: &AccountName) -> DbResult<Option<Account>> {
    Ok(load_account(conn, name)?.map(|(a, _, _)| a))
}

/// The account of `name` if `by` reaches it; otherwise as if there were none.
fn reached(
    conn: &Connection,
    by: &AccountAuthority,
    name: &AccountName,
) -> Result<(Account, String, String), StoreError> {
    match load_account(conn, name)? {
        Some(found) if by.reaches(&found.0.role) => Ok(found),
        _ => Err(rules::no_account(name)),
    }
}

pub(crate) fn account_view(
    conn: &Connection,
    by: &AccountAuthority,
    name: &AccountName,
) -> Result<AccountView, StoreError> {
    let (a, created, updated) = reached(conn, by, name)?;
    Ok(rules::view(&a, created, updated))
}

pub(crate) fn accounts(
    conn: &Connection,
    by: &AccountAuthority,
    request: &PageRequest,
) -> Result<Page<AccountView>, StoreError> {
    let limit = request.clamped_limit();
    let mut sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE 1");
    let mut p: Vec<Value> = Vec::new();
    if let Some(e) = by.enterprise() {
        sql.push_str(" AND enterprise = ?");
        p.push(Value::Text(e.as_str().to_owned()));
    }
    if let Some(after) = &request.after {
        sql.push_str(" AND name > ?");
        p.push(Value::Text(after.clone()));
    }
    sql.push_str(" ORDER BY name LIMIT ?");
    p.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let mut st = conn.prepare_cached(&sql).map_err(DbError::from)?;
    let mut rows = st.query(params_from_iter(p)).map_err(DbError::from)?;
    let mut items = Vec::new();
    while let Some(r) = rows.next().map_err(DbError::from)? {
        let (a, created, updated) = account_row(r)?;
        if by.reaches(&a.role) {
            items.push(rules::view(&a, created, updated));
        }
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|a| a.name.to_string())
    } else {
        None
    };
    Ok(Page { items, next })
}

const SESSION_SELECT: &str = "SELECT s.digest, s.account, s.role, s.created_at, s.last_seen_at \
     FROM session s JOIN account a ON a.name = s.account WHERE s.digest = ?1 AND a.disabled = 0";

pub(crate) fn session(conn: &Connection, key: &SecretDigest) -> DbResult<Option<StoredSession>> {
    let mut st = conn.prepare_cached(SESSION_SELECT)?;
    let mut rows = st.query([key.to_hex()])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(StoredSession {
        digest: digest(&r.get::<_, String>(0)?)?,
        account: account_name(&r.get::<_, String>(1)?)?,
        role: role(&r.get::<_, String>(2)?)?,
        created_at: parse_time(&r.get::<_, String>(3)?)?,
        last_seen_at: parse_time(&r.get::<_, String>(4)?)?,
    }))
}

const TOKEN_COLUMNS: &str = "t.id, t.digest, t.account, t.role, t.label, t.issued_by, t.created_at, t.expires_at, t.revoked_at";

fn token_row(r: &Row<'_>) -> DbResult<StoredToken> {
    let revoked: Option<String> = r.get(8)?;
    Ok(StoredToken {
        id: TokenId::parse(&r.get::<_, String>(0)?).map_err(|e| DbError::corrupt("token id", e))?,
        digest: digest(&r.get::<_, String>(1)?)?,
        account: account_name(&r.get::<_, String>(2)?)?,
        role: role(&r.get::<_, String>(3)?)?,
        label: r.get(4)?,
        issued_by: account_name(&r.get::<_, String>(5)?)?,
        created_at: parse_time(&r.get::<_, String>(6)?)?,
        expires_at: parse_time(&r.get::<_, String>(7)?)?,
        revoked_at: revoked.as_deref().map(parse_time).transpose()?,
    })
}

/// The token of `id` whose account is enabled.
pub(crate) fn token(conn: &Connection, id: &TokenId) -> DbResult<Option<StoredToken>> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM api_token t JOIN account a ON a.name = t.account \
         WHERE t.id = ?1 AND a.disabled = 0"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query([id.as_str()])?;
    rows.next()?.map(token_row).transpose()
}

fn any_token(conn: &Connection, id: &TokenId) -> DbResult<Option<StoredToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token t WHERE t.id = ?1");
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query([id.as_str()])?;
    rows.next()?.map(token_row).transpose()
}

pub(crate) fn tokens(
    conn: &Connection,
    by: &AccountAuthority,
    request: &PageRequest,
) -> Result<Page<TokenView>, StoreError> {
    let limit = request.clamped_limit();
    let mut sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token t WHERE 1");
    let mut p: Vec<Value> = Vec::new();
    if let Some(e) = by.enterprise() {
        sql.push_str(" AND t.enterprise = ?");
        p.push(Value::Text(e.as_str().to_owned()));
    }
    if let Some(after) = &request.after {
        sql.push_str(" AND t.id > ?");
        p.push(Value::Text(after.clone()));
    }
    sql.push_str(" ORDER BY t.id LIMIT ?");
    p.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let mut st = conn.prepare_cached(&sql).map_err(DbError::from)?;
    let mut rows = st.query(params_from_iter(p)).map_err(DbError::from)?;
    let mut items = Vec::new();
    while let Some(r) = rows.next().map_err(DbError::from)? {
        let t = token_row(r)?;
        if by.reaches(&t.role) {
            items.push(rules::token_view(&t)?);
        }
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|t| t.id.to_string())
    } else {
        None
    };
    Ok(Page { items, next })
}

pub(crate) fn throttle(conn: &Connection, keys: &[ThrottleKey]) -> DbResult<Vec<ThrottleState>> {
    let mut st = conn.prepare_cached(
        "SELECT failures, window_start, last_failure, locked_until FROM login_throttle WHERE key = ?1",
    )?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let state = st
            .query_row([key.as_str()], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()?;
        out.push(match state {
            None => ThrottleState::default(),
            Some((failures, window, last, locked)) => ThrottleState {
                failures,
                window_start: window.as_deref().map(parse_time).transpose()?,
                last_failure: last.as_deref().map(parse_time).transpose()?,
                locked_until: locked.as_deref().map(parse_time).transpose()?,
            },
        });
    }
    Ok(out)
}

/// How many enabled administrators there are besides `name`.
fn other_administrators(conn: &Connection, name: &AccountName) -> DbResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM account WHERE role = 'administrator' AND disabled = 0 AND name <> ?1",
        )?
        .query_row([name.as_str()], |r| r.get(0))?)
}

fn insert_account(conn: &Connection, a: &Account, now: &str) -> Result<(), StoreError> {
    if load_account(conn, &a.name)?.is_some() {
        return Err(rules::name_taken(&a.name));
    }
    conn.prepare_cached(
        "INSERT INTO account (name, role, enterprise, password, disabled, display_name, language, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )
    .map_err(DbError::from)?
    .execute(params![
        a.name.as_str(),
        a.role.to_string(),
        a.role.enterprise().map(|e| e.as_str().to_owned()),
        a.password.as_phc(),
        a.disabled,
        a.display_name,
        a.language.tag(),
        now,
    ])
    .map_err(DbError::from)?;
    Ok(())
}

fn end_sessions(
    conn: &Connection,
    name: &AccountName,
    keep: Option<&SecretDigest>,
) -> DbResult<()> {
    conn.prepare_cached("DELETE FROM session WHERE account = ?1 AND digest <> ?2")?
        .execute(params![
            name.as_str(),
            keep.map_or_else(String::new, SecretDigest::to_hex)
        ])?;
    Ok(())
}

/// Applies `change` to the account row `current`, answering with its view.
fn update_row(
    conn: &Connection,
    mut current: Account,
    created: String,
    change: &AccountChange,
    keep: Option<&SecretDigest>,
    now: &str,
    at: OffsetDateTime,
) -> Result<AccountView, StoreError> {
    rules::apply(&mut current, change);
    conn.prepare_cached(
        "UPDATE account SET role = ?2, enterprise = ?3, password = ?4, disabled = ?5, display_name = ?6, \
         language = ?7, updated_at = ?8 WHERE name = ?1",
    )
    .map_err(DbError::from)?
    .execute(params![
        current.name.as_str(),
        current.role.to_string(),
        current.role.enterprise().map(|e| e.as_str().to_owned()),
        current.password.as_phc(),
        current.disabled,
        current.display_name,
        current.language.tag(),
        now,
    ])
    .map_err(DbError::from)?;
    if change.ends_sessions() {
        end_sessions(conn, &current.name, keep)?;
    }
    if rules::revokes_tokens(change) {
        conn.prepare_cached(
            "UPDATE api_token SET revoked_at = ?2 WHERE account = ?1 AND revoked_at IS NULL",
        )
        .map_err(DbError::from)?
        .execute(params![current.name.as_str(), time_text(at)?])
        .map_err(DbError::from)?;
    }
    Ok(rules::view(&current, created, now.to_owned()))
}

/// Runs one change on the writer's connection at `now`.
pub(crate) fn apply(
    conn: &Connection,
    now: &RecordTime,
    change: &Change,
) -> Result<Done, StoreError> {
    let text = now.text.as_str();
    match change {
        Change::Install(account) => {
            insert_account(conn, account, text)?;
            Ok(Done::Account(rules::view(
                account,
                text.to_owned(),
                text.to_owned(),
            )))
        }
        Change::Create { by, account } => {
            rules::may_grant(by, &account.role)?;
            insert_account(conn, account, text)?;
            Ok(Done::Account(rules::view(
                account,
                text.to_owned(),
                text.to_owned(),
            )))
        }
        Change::Update { by, name, change } => {
            let (current, created, _) = reached(conn, by, name)?;
            if let Some(role) = &change.role {
                rules::may_grant(by, role)?;
            }
            if rules::demotes_administrator(&current, change)
                && other_administrators(conn, name)? == 0
            {
                return Err(rules::last_administrator());
            }
            Ok(Done::Account(update_row(
                conn, current, created, change, None, text, now.at,
            )?))
        }
        Change::UpdateOwn {
            principal,
            change,
            keep,
        } => {
            let (current, created, _) = load_account(conn, principal.account())?
                .ok_or_else(|| rules::no_account(principal.account()))?;
            Ok(Done::Account(update_row(
                conn,
                current,
                created,
                change,
                keep.as_ref(),
                text,
                now.at,
            )?))
        }
        Change::StartSession { session, replaces } => {
            if let Some(old) = replaces {
                conn.prepare_cached("DELETE FROM session WHERE digest = ?1")
                    .map_err(DbError::from)?
                    .execute([old.to_hex()])
                    .map_err(DbError::from)?;
            }
            conn.prepare_cached(
                "INSERT INTO session (digest, account, role, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(DbError::from)?
            .execute(params![
                session.digest.to_hex(),
                session.account.as_str(),
                session.role.to_string(),
                time_text(session.created_at)?,
                time_text(session.last_seen_at)?,
            ])
            .map_err(DbError::from)?;
            Ok(Done::Nothing)
        }
        Change::TouchSession { digest, at } => {
            conn.prepare_cached("UPDATE session SET last_seen_at = ?2 WHERE digest = ?1")
                .map_err(DbError::from)?
                .execute(params![digest.to_hex(), time_text(*at)?])
                .map_err(DbError::from)?;
            Ok(Done::Nothing)
        }
        Change::EndSession { digest } => {
            conn.prepare_cached("DELETE FROM session WHERE digest = ?1")
                .map_err(DbError::from)?
                .execute([digest.to_hex()])
                .map_err(DbError::from)?;
            Ok(Done::Nothing)
        }
        Change::IssueToken { by, token } => {
            let (account, _, _) = reached(conn, by, &token.account)?;
            rules::may_grant(by, &token.role)?;
            rules::token_fits(token, &account.role)?;
            if any_token(conn, &token.id)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "token id {} is taken",
                    token.id
                )));
            }
            conn.prepare_cached(
                "INSERT INTO api_token (id, digest, account, role, enterprise, label, issued_by, created_at, expires_at, revoked_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)",
            )
            .map_err(DbError::from)?
            .execute(params![
                token.id.as_str(),
                token.digest.to_hex(),
                token.account.as_str(),
                token.role.to_string(),
                token.role.enterprise().map(|e| e.as_str().to_owned()),
                token.label,
                token.issued_by.as_str(),
                time_text(token.created_at)?,
                time_text(token.expires_at)?,
            ])
            .map_err(DbError::from)?;
            Ok(Done::Token(rules::token_view(token)?))
        }
        Change::RevokeToken { by, id, at } => {
            let mut found = match any_token(conn, id)? {
                Some(t) if by.reaches(&t.role) => t,
                _ => return Err(StoreError::NotFound(format!("token {id}"))),
            };
            found.revoke(by, *at).map_err(|e| StoreError::Forbidden {
                record: 0,
                field: "id",
                why: e.to_string(),
            })?;
            conn.prepare_cached("UPDATE api_token SET revoked_at = ?2 WHERE id = ?1")
                .map_err(DbError::from)?
                .execute(params![
                    id.as_str(),
                    found.revoked_at.map(time_text).transpose()?
                ])
                .map_err(DbError::from)?;
            Ok(Done::Token(rules::token_view(&found)?))
        }
        Change::PutThrottle(states) => {
            let mut st = conn
                .prepare_cached(
                    "INSERT INTO login_throttle (key, failures, window_start, last_failure, locked_until) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
                     window_start = excluded.window_start, last_failure = excluded.last_failure, \
                     locked_until = excluded.locked_until",
                )
                .map_err(DbError::from)?;
            for (key, s) in states {
                st.execute(params![
                    key.as_str(),
                    s.failures,
                    s.window_start.map(time_text).transpose()?,
                    s.last_failure.map(time_text).transpose()?,
                    s.locked_until.map(time_text).transpose()?,
                ])
                .map_err(DbError::from)?;
            }
            Ok(Done::Nothing)
        }
    }
}

//! Accounts, sessions, API tokens and login throttle state in the tables of
//! schema 2 (`retrace_store::identity`), with the embedded store's rules
//! (`retrace_store::identity::rules`). Changes run inside the transaction
//! that records their trail entry; lookups run on a read connection.

use postgres::Row;
use retrace_access::{
    Account, AccountAuthority, AccountName, PasswordHash, SecretDigest, StoredSession, StoredToken,
    ThrottleKey, ThrottleState, TokenId,
};
use retrace_store::identity::rules::{
    self, account_name, digest, language, parse_time, role, time_text,
};
pub(crate) use retrace_store::identity::{Change, Done};
use retrace_store::{AccountChange, AccountView, Page, PageRequest, StoreError, TokenView};
use time::OffsetDateTime;

use crate::codec::RecordTime;
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::query::Sql;

fn text(r: &Row, i: usize) -> DbResult<String> {
    Ok(r.try_get(i)?)
}

fn opt_time(r: &Row, i: usize) -> DbResult<Option<OffsetDateTime>> {
    Ok(r.try_get::<_, Option<String>>(i)?
        .as_deref()
        .map(parse_time)
        .transpose()?)
}

const ACCOUNT_COLUMNS: &str =
    "name, role, password, disabled, display_name, language, created_at, updated_at";

fn account_row(r: &Row) -> DbResult<(Account, String, String)> {
    Ok((
        Account {
            name: account_name(&text(r, 0)?)?,
            role: role(&text(r, 1)?)?,
            password: PasswordHash::parse(&text(r, 2)?)
                .map_err(|e| DbError::corrupt("password hash", e))?,
            disabled: r.try_get::<_, i32>(3)? != 0,
            display_name: text(r, 4)?,
            language: language(&text(r, 5)?)?,
        },
        text(r, 6)?,
        text(r, 7)?,
    ))
}

/// The account of `name` with its times, if any; `lock` takes its row for
/// the rest of the transaction (a change reads it to rewrite it).
fn load_account(
    conn: &Conn,
    name: &AccountName,
    lock: bool,
) -> DbResult<Option<(Account, String, String)>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM account WHERE name = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    conn.query_opt(&sql, &[&name.as_str()])?
        .as_ref()
        .map(account_row)
        .transpose()
}

pub(crate) fn account(conn: &Conn, name: &AccountName) -> DbResult<Option<Account>> {
    Ok(load_account(conn, name, false)?.map(|(a, _, _)| a))
}

/// The account of `name` if `by` reaches it; otherwise as if there were none.
fn reached(
    conn: &Conn,
    by: &AccountAuthority,
    name: &AccountName,
    lock: bool,
) -> Result<(Account, String, String), StoreError> {
    match load_account(conn, name, lock)? {
        Some(found) if by.reaches(&found.0.role) => Ok(found),
        _ => Err(rules::no_account(name)),
    }
}

pub(crate) fn account_view(
    conn: &Conn,
    by: &AccountAuthority,
    name: &AccountName,
) -> Result<AccountView, StoreError> {
    let (a, created, updated) = reached(conn, by, name, false)?;
    Ok(rules::view(&a, created, updated))
}

fn limit(request: &PageRequest) -> (usize, i64) {
    let limit = request.clamped_limit();
    (limit, i64::try_from(limit + 1).unwrap_or(i64::MAX))
}

fn cut<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}

pub(crate) fn accounts(
    conn: &Conn,
    by: &AccountAuthority,
    request: &PageRequest,
) -> Result<Page<AccountView>, StoreError> {
    let (limit, fetch) = limit(request);
    let mut q = Sql::new(&format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE TRUE"));
    if let Some(e) = by.enterprise() {
        q.push(" AND enterprise = ").bind(e.as_str().to_owned());
    }
    if let Some(after) = &request.after {
        q.push(" AND name > ").bind(after.clone());
    }
    q.push(" ORDER BY name LIMIT ").bind(fetch);
    let mut items = Vec::new();
    for r in conn.query(q.text(), &q.params())? {
        let (a, created, updated) = account_row(&r)?;
        if by.reaches(&a.role) {
            items.push(rules::view(&a, created, updated));
        }
    }
    Ok(cut(items, limit, |a| a.name.to_string()))
}

pub(crate) fn session(conn: &Conn, key: &SecretDigest) -> DbResult<Option<StoredSession>> {
    let Some(r) = conn.query_opt(
        "SELECT s.digest, s.account, s.role, s.created_at, s.last_seen_at \
         FROM session s JOIN account a ON a.name = s.account WHERE s.digest = $1 AND a.disabled = 0",
        &[&key.to_hex()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(StoredSession {
        digest: digest(&text(&r, 0)?)?,
        account: account_name(&text(&r, 1)?)?,
        role: role(&text(&r, 2)?)?,
        created_at: parse_time(&text(&r, 3)?)?,
        last_seen_at: parse_time(&text(&r, 4)?)?,
    }))
}

const TOKEN_COLUMNS: &str = "t.id, t.digest, t.account, t.role, t.label, t.issued_by, t.created_at, t.expires_at, t.revoked_at";

fn token_row(r: &Row) -> DbResult<StoredToken> {
    Ok(StoredToken {
        id: TokenId::parse(&text(r, 0)?).map_err(|e| DbError::corrupt("token id", e))?,
        digest: digest(&text(r, 1)?)?,
        account: account_name(&text(r, 2)?)?,
        role: role(&text(r, 3)?)?,
        label: text(r, 4)?,
        issued_by: account_name(&text(r, 5)?)?,
        created_at: parse_time(&text(r, 6)?)?,
        expires_at: parse_time(&text(r, 7)?)?,
        revoked_at: opt_time(r, 8)?,
    })
}

/// The token of `id` whose account is enabled.
pub(crate) fn token(conn: &Conn, id: &TokenId) -> DbResult<Option<StoredToken>> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM api_token t JOIN account a ON a.name = t.account \
         WHERE t.id = $1 AND a.disabled = 0"
    );
    conn.query_opt(&sql, &[&id.as_str()])?
        .as_ref()
        .map(token_row)
        .transpose()
}

fn any_token(conn: &Conn, id: &TokenId) -> DbResult<Option<StoredToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token t WHERE t.id = $1");
    conn.query_opt(&sql, &[&id.as_str()])?
        .as_ref()
        .map(token_row)
        .transpose()
}

pub(crate) fn tokens(
    conn: &Conn,
    by: &AccountAuthority,
    request: &PageRequest,
) -> Result<Page<TokenView>, StoreError> {
    let (limit, fetch) = limit(request);
    let mut q = Sql::new(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_token t WHERE TRUE"
    ));
    if let Some(e) = by.enterprise() {
        q.push(" AND t.enterprise = ").bind(e.as_str().to_owned());
    }
    if let Some(after) = &request.after {
        q.push(" AND t.id > ").bind(after.clone());
    }
    q.push(" ORDER BY t.id LIMIT ").bind(fetch);
    let mut items = Vec::new();
    for r in conn.query(q.text(), &q.params())? {
        let t = token_row(&r)?;
        if by.reaches(&t.role) {
            items.push(rules::token_view(&t)?);
        }
    }
    Ok(cut(items, limit, |t| t.id.to_string()))
}

pub(crate) fn throttle(conn: &Conn, keys: &[ThrottleKey]) -> DbResult<Vec<ThrottleState>> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let row = conn.query_opt(
            "SELECT failures, window_start, last_failure, locked_until FROM login_throttle WHERE key = $1",
            &[&key.as_str()],
        )?;
        out.push(match row {
            None => ThrottleState::default(),
            Some(r) => ThrottleState {
                failures: u32::try_from(r.try_get::<_, i32>(0)?)
                    .map_err(|e| DbError::corrupt("throttle failures", e))?,
                window_start: opt_time(&r, 1)?,
                last_failure: opt_time(&r, 2)?,
                locked_until: opt_time(&r, 3)?,
            },
        });
    }
    Ok(out)
}

/// How many enabled administrators there are besides `name`.
fn other_administrators(conn: &Conn, name: &AccountName) -> DbResult<i64> {
    Ok(conn
        .query_one(
            "SELECT COUNT(*) FROM account WHERE role = 'administrator' AND disabled = 0 AND name <> $1",
            &[&name.as_str()],
        )?
        .try_get(0)?)
}

fn insert_account(conn: &Conn, a: &Account, now: &str) -> Result<(), StoreError> {
    let inserted = conn.execute(
        "INSERT INTO account (name, role, enterprise, password, disabled, display_name, language, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (name) DO NOTHING",
        &[
            &a.name.as_str(),
            &a.role.to_string(),
            &a.role.enterprise().map(|e| e.as_str().to_owned()),
            &a.password.as_phc(),
            &i32::from(a.disabled),
            &a.display_name,
            &a.language.tag(),
            &now,
        ],
    )?;
    if inserted == 0 {
        return Err(rules::name_taken(&a.name));
    }
    Ok(())
}

fn end_sessions(conn: &Conn, name: &AccountName, keep: Option<&SecretDigest>) -> DbResult<()> {
    conn.execute(
        "DELETE FROM session WHERE account = $1 AND digest <> $2",
        &[
            &name.as_str(),
            &keep.map_or_else(String::new, SecretDigest::to_hex),
        ],
    )?;
    Ok(())
}

/// Applies `change` to the account row `current`, answering with its view.
fn update_row(
    conn: &Conn,
    mut current: Account,
    created: String,
    change: &AccountChange,
    keep: Option<&SecretDigest>,
    now: &RecordTime,
) -> Result<AccountView, StoreError> {
    rules::apply(&mut current, change);
    conn.execute(
        "UPDATE account SET role = $2, enterprise = $3, password = $4, disabled = $5, display_name = $6, \
         language = $7, updated_at = $8 WHERE name = $1",
        &[
            &current.name.as_str(),
            &current.role.to_string(),
            &current.role.enterprise().map(|e| e.as_str().to_owned()),
            &current.password.as_phc(),
            &i32::from(current.disabled),
            &current.display_name,
            &current.language.tag(),
            &now.text,
        ],
    )?;
    if change.ends_sessions() {
        end_sessions(conn, &current.name, keep)?;
    }
    if rules::revokes_tokens(change) {
        conn.execute(
            "UPDATE api_token SET revoked_at = $2 WHERE account = $1 AND revoked_at IS NULL",
            &[&current.name.as_str(), &now.text],
        )?;
    }
    Ok(rules::view(&current, created, now.text.clone()))
}

/// Runs one change on `conn`, inside the caller's transaction, at `now`.
pub(crate) fn apply(conn: &Conn, now: &RecordTime, change: &Change) -> Result<Done, StoreError> {
    let stamp = || (now.text.clone(), now.text.clone());
    match change {
        Change::Install(account) => {
            insert_account(conn, account, &now.text)?;
            let (c, u) = stamp();
            Ok(Done::Account(rules::view(account, c, u)))
        }
        Change::Create { by, account } => {
            rules::may_grant(by, &account.role)?;
            insert_account(conn, account, &now.text)?;
            let (c, u) = stamp();
            Ok(Done::Account(rules::view(account, c, u)))
        }
        Change::Update { by, name, change } => {
            let (current, created, _) = reached(conn, by, name, true)?;
            if let Some(role) = &change.role {
                rules::may_grant(by, role)?;
            }
            if rules::demotes_administrator(&current, change) {
                // Every administrator's row, so that two demotions on two
                // nodes cannot each leave the other as the last one.
                conn.execute(
                    "SELECT 1 FROM account WHERE role = 'administrator' FOR UPDATE",
                    &[],
                )?;
                if other_administrators(conn, name)? == 0 {
                    return Err(rules::last_administrator());
                }
            }
            Ok(Done::Account(update_row(
                conn, current, created, change, None, now,
            )?))
        }
        Change::UpdateOwn {
            principal,
            change,
            keep,
        } => {
            let (current, created, _) = load_account(conn, principal.account(), true)?
                .ok_or_else(|| rules::no_account(principal.account()))?;
            Ok(Done::Account(update_row(
                conn,
                current,
                created,
                change,
                keep.as_ref(),
                now,
            )?))
        }
        Change::StartSession { session, replaces } => {
            if let Some(old) = replaces {
                conn.execute("DELETE FROM session WHERE digest = $1", &[&old.to_hex()])?;
            }
            conn.execute(
                "INSERT INTO session (digest, account, role, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &session.digest.to_hex(),
                    &session.account.as_str(),
                    &session.role.to_string(),
                    &time_text(session.created_at)?,
                    &time_text(session.last_seen_at)?,
                ],
            )?;
            Ok(Done::Nothing)
        }
        Change::TouchSession { digest, at } => {
            conn.execute(
                "UPDATE session SET last_seen_at = $2 WHERE digest = $1",
                &[&digest.to_hex(), &time_text(*at)?],
            )?;
            Ok(Done::Nothing)
        }
        Change::EndSession { digest } => {
            conn.execute("DELETE FROM session WHERE digest = $1", &[&digest.to_hex()])?;
            Ok(Done::Nothing)
        }
        Change::IssueToken { by, token } => {
            let (account, _, _) = reached(conn, by, &token.account, false)?;
            rules::may_grant(by, &token.role)?;
            rules::token_fits(token, &account.role)?;
            let inserted = conn.execute(
                "INSERT INTO api_token (id, digest, account, role, enterprise, label, issued_by, created_at, expires_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) ON CONFLICT (id) DO NOTHING",
                &[
                    &token.id.as_str(),
                    &token.digest.to_hex(),
                    &token.account.as_str(),
                    &token.role.to_string(),
                    &token.role.enterprise().map(|e| e.as_str().to_owned()),
                    &token.label,
                    &token.issued_by.as_str(),
                    &time_text(token.created_at)?,
                    &time_text(token.expires_at)?,
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!(
                    "token id {} is taken",
                    token.id
                )));
            }
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
            conn.execute(
                "UPDATE api_token SET revoked_at = $2 WHERE id = $1",
                &[&id.as_str(), &found.revoked_at.map(time_text).transpose()?],
            )?;
            Ok(Done::Token(rules::token_view(&found)?))
        }
        Change::PutThrottle(states) => {
            for (key, s) in states {
                conn.execute(
                    "INSERT INTO login_throttle (key, failures, window_start, last_failure, locked_until) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
                     window_start = excluded.window_start, last_failure = excluded.last_failure, \
                     locked_until = excluded.locked_until",
                    &[
                        &key.as_str(),
                        &i32::try_from(s.failures).unwrap_or(i32::MAX),
                        &s.window_start.map(time_text).transpose()?,
                        &s.last_failure.map(time_text).transpose()?,
                        &s.locked_until.map(time_text).transpose()?,
                    ],
                )?;
            }
            Ok(Done::Nothing)
        }
    }
}

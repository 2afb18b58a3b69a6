//! The conformance suite's identity half: accounts in reach, sessions,
//! tokens, throttle state, idempotency keys and the audit trail (issue 3
//! §1–5), held to the same answers on every store.
//!
//! [`run_identity`] runs after [`super::run_all`] on the same store: the
//! trail's regional searches need the fixture's register.

use std::collections::BTreeSet;

use rand_core::OsRng;
use retrace_access::{
    Account, AccountAuthority, AccountName, ApiToken, Language, PasswordHash, Principal, Role,
    ThrottleKey, ThrottleState, TokenGrant, hash_password, login, session,
};
use retrace_domain::region::RegionCode;
use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::hash::leaf_hash;
use retrace_ledger::proof::verify_inclusion;
use time::{Duration, OffsetDateTime};

use super::{flow, parties, region, ship, size_of};
use crate::error::StoreError;
use crate::identity::{AccountChange, Identity};
use crate::model::PageRequest;
use crate::scope::{Authority, Scope};
use crate::store::Store;
use crate::trail::{Actor, TrailEvent, TrailFilter, Via};
use crate::write::{Idempotency, WriteContext};

/// The password of every account the suite makes.
const PASSWORD: &str = "Conformance-Suite-2025";

/// A moment after the fixture, for sessions and tokens.
fn now() -> OffsetDateTime {
    time::macros::datetime!(2025-07-01 10:00 +08:00)
}

fn name(text: &str) -> AccountName {
    AccountName::parse(text).expect("suite account names are well formed")
}

fn role(text: &str) -> Role {
    Role::parse(text).expect("suite roles are well formed")
}

fn event(actor: Actor, action: &str, target: &str) -> TrailEvent {
    TrailEvent {
        actor,
        action: action.to_owned(),
        target: target.to_owned(),
        enterprises: Vec::new(),
        region: None,
        status: 200,
        detail: String::new(),
    }
}

/// Makes accounts and proves who they are, as the server does: the
/// installation creates them, a password login makes their principals.
struct Accounts {
    hash: PasswordHash,
}

impl Accounts {
    fn new() -> Accounts {
        Accounts {
            hash: hash_password(PASSWORD, &mut OsRng).expect("hashing"),
        }
    }

    fn account(&self, who: &str, role_text: &str) -> Account {
        Account {
            name: name(who),
            role: role(role_text),
            password: self.hash.clone(),
            disabled: false,
            display_name: who.to_owned(),
            language: Language::Zh,
        }
    }

    async fn install<S: Identity>(&self, store: &S, who: &str, role_text: &str) -> Principal {
        let account = self.account(who, role_text);
        store
            .install_account(
                account.clone(),
                event(Actor::installation(), "account.create", who),
            )
            .await
            .unwrap_or_else(|e| panic!("installing {who}: {e}"));
        login(Some(&account), PASSWORD).expect("the suite's password")
    }
}

fn manager(p: &Principal) -> AccountAuthority {
    p.manage_accounts()
        .expect("a principal that manages accounts")
}

fn actor(p: &Principal) -> Actor {
    Actor::principal(p, Via::Session, None)
}

/// Every identity check, in order, after [`super::run_all`].
pub async fn run_identity<S: Store + Identity>(store: &S, trail_verifier: &LogVerifier) {
    let accounts = Accounts::new();
    let admin = accounts
        .install(store, "suite.admin", "administrator")
        .await;
    check_accounts(store, &accounts, &admin).await;
    check_sessions(store, &accounts).await;
    check_tokens(store, &accounts, &admin).await;
    check_throttle(store).await;
    check_idempotency(store).await;
    check_trail(store, &accounts, trail_verifier).await;
}

/// Accounts are made and changed only within reach: the administrator every
/// account, an enterprise manager its own enterprise's; out of reach is
/// answered as if the account did not exist.
async fn check_accounts<S: Store + Identity>(store: &S, accounts: &Accounts, admin: &Principal) {
    let p = parties();
    let by_admin = manager(admin);
    let boss = accounts
        .install(
            store,
            "miner.boss",
            &format!("enterprise_manager:{}", p.miner),
        )
        .await;
    let by_boss = manager(&boss);
    let clerk = accounts.account("miner.clerk", &format!("enterprise_operator:{}", p.miner));
    let view = store
        .create_account(
            &by_boss,
            clerk.clone(),
            event(actor(&boss), "account.create", "clerk"),
        )
        .await
        .expect("a manager makes its own enterprise's operator");
    assert_eq!(view.role, clerk.role);
    match store
        .create_account(
            &by_boss,
            clerk,
            event(actor(&boss), "account.create", "again"),
        )
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a name taken twice: {other:?}"),
    }
    let outsider = accounts.account(
        "smelter.clerk",
        &format!("enterprise_operator:{}", p.smelter),
    );
    match store
        .create_account(
            &by_boss,
            outsider.clone(),
            event(actor(&boss), "account.create", "x"),
        )
        .await
    {
        Err(StoreError::Forbidden { field: "role", .. }) => {}
        other => panic!("a manager gives another enterprise's role: {other:?}"),
    }
    store
        .create_account(
            &by_admin,
            outsider,
            event(actor(admin), "account.create", "smelter"),
        )
        .await
        .expect("the administrator gives any role");

    let everything = PageRequest::first(1_000);
    let seen: BTreeSet<String> = store
        .accounts(&by_boss, &everything)
        .await
        .expect("accounts")
        .items
        .into_iter()
        .map(|a| a.name.to_string())
        .collect();
    assert_eq!(
        seen,
        BTreeSet::from(["miner.boss".to_owned(), "miner.clerk".to_owned()]),
        "a manager sees its own enterprise's accounts"
    );
    let all = store
        .accounts(&by_admin, &everything)
        .await
        .expect("accounts");
    assert!(all.items.len() >= 4);
    assert!(
        matches!(
            store.account_view(&by_boss, &name("smelter.clerk")).await,
            Err(StoreError::NotFound(_))
        ),
        "another enterprise's account is not found"
    );
    assert!(matches!(
        store
            .change_account(
                &by_boss,
                &name("smelter.clerk"),
                AccountChange {
                    disabled: Some(true),
                    ..AccountChange::default()
                },
                event(actor(&boss), "account.change", "x"),
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    match store
        .change_account(
            &by_boss,
            &name("miner.clerk"),
            AccountChange {
                role: Some(Role::Administrator),
                ..AccountChange::default()
            },
            event(actor(&boss), "account.change", "x"),
        )
        .await
    {
        Err(StoreError::Forbidden { field: "role", .. }) => {}
        other => panic!("a manager makes an administrator: {other:?}"),
    }
    match store
        .change_account(
            &by_admin,
            &name("suite.admin"),
            AccountChange {
                disabled: Some(true),
                ..AccountChange::default()
            },
            event(actor(admin), "account.change", "x"),
        )
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("the last administrator disabled: {other:?}"),
    }
    let renamed = store
        .change_own_account(
            &boss,
            AccountChange {
                display_name: Some("李娜".to_owned()),
                language: Some(Language::En),
                ..AccountChange::default()
            },
            None,
            event(actor(&boss), "me.change", "x"),
        )
        .await
        .expect("anyone changes its own display name");
    assert_eq!(
        (renamed.display_name.as_str(), renamed.language),
        ("李娜", Language::En)
    );
    let stored = store
        .account(&name("miner.boss"))
        .await
        .expect("account")
        .expect("the account exists");
    assert_eq!(stored.display_name, "李娜");
}

/// Sessions: a login replaces the session the browser came with; a
/// disabled account's sessions stop working; a change of role ends them.
async fn check_sessions<S: Store + Identity>(store: &S, accounts: &Accounts) {
    let p = parties();
    let clerk = accounts
        .install(
            store,
            "separator.clerk",
            &format!("enterprise_operator:{}", p.separator),
        )
        .await;
    let first = session::start(&mut OsRng, &clerk, now(), None);
    store
        .start_session(
            first.stored.clone(),
            None,
            event(actor(&clerk), "login", "1"),
        )
        .await
        .expect("a session");
    let found = store
        .session(&first.id.digest())
        .await
        .expect("session")
        .expect("the session is stored");
    assert_eq!(found.account, name("separator.clerk"));
    let second = session::start(&mut OsRng, &clerk, now(), Some(&first.id));
    store
        .start_session(
            second.stored.clone(),
            second.replaces,
            event(actor(&clerk), "login", "2"),
        )
        .await
        .expect("a second session");
    assert!(
        store
            .session(&first.id.digest())
            .await
            .expect("session")
            .is_none(),
        "a login retires the session it replaces"
    );
    let later = now() + Duration::minutes(5);
    store
        .touch_session(&second.id.digest(), later)
        .await
        .expect("touch");
    let touched = store
        .session(&second.id.digest())
        .await
        .expect("session")
        .expect("still there");
    assert_eq!(touched.last_seen_at, later);

    let admin = login(
        Some(&accounts.account("suite.admin", "administrator")),
        PASSWORD,
    )
    .expect("the administrator");
    store
        .change_account(
            &manager(&admin),
            &name("separator.clerk"),
            AccountChange {
                disabled: Some(true),
                ..AccountChange::default()
            },
            event(actor(&admin), "account.change", "disable"),
        )
        .await
        .expect("disabling an account");
    assert!(
        store
            .session(&second.id.digest())
            .await
            .expect("session")
            .is_none(),
        "a disabled account has no session"
    );
    store
        .change_account(
            &manager(&admin),
            &name("separator.clerk"),
            AccountChange {
                disabled: Some(false),
                ..AccountChange::default()
            },
            event(actor(&admin), "account.change", "enable"),
        )
        .await
        .expect("enabling it again");
    assert!(
        store
            .session(&second.id.digest())
            .await
            .expect("session")
            .is_none(),
        "disabling ended the session for good"
    );
    let third = session::start(&mut OsRng, &clerk, now(), None);
    store
        .start_session(third.stored, None, event(actor(&clerk), "login", "3"))
        .await
        .expect("a third session");
    store
        .end_session(
            &third.id.digest(),
            Some(event(actor(&clerk), "logout", "3")),
        )
        .await
        .expect("logout");
    assert!(
        store
            .session(&third.id.digest())
            .await
            .expect("session")
            .is_none()
    );
}

/// Tokens: issued within reach in the account's role (or an enterprise
/// manager's narrower operator role), revoked at once, and revoked with a
/// change of the account's role.
async fn check_tokens<S: Store + Identity>(store: &S, accounts: &Accounts, admin: &Principal) {
    let p = parties();
    let boss = login(
        Some(&accounts.account("miner.boss", &format!("enterprise_manager:{}", p.miner))),
        PASSWORD,
    )
    .expect("the miner's manager");
    let by_boss = manager(&boss);
    let grant = |account: &str, role_text: &str| TokenGrant {
        account: name(account),
        role: role(role_text),
        label: "ERP".to_owned(),
        expires_at: now() + Duration::days(30),
    };
    let operator = format!("enterprise_operator:{}", p.miner);
    let (token, stored) =
        ApiToken::generate(&mut OsRng, &by_boss, grant("miner.boss", &operator), now())
            .expect("a narrower token for the manager's own account");
    let view = store
        .issue_token(&by_boss, stored, event(actor(&boss), "token.issue", "1"))
        .await
        .expect("issued");
    assert_eq!(view.role, role(&operator));
    let found = store
        .token(token.id())
        .await
        .expect("token")
        .expect("stored");
    let principal = token.verify(&found, now()).expect("it verifies");
    assert_eq!(principal.role(), &role(&operator));

    let (_, wider) = ApiToken::generate(
        &mut OsRng,
        &manager(admin),
        grant("miner.clerk", &format!("enterprise_manager:{}", p.miner)),
        now(),
    )
    .expect("the administrator may give the role");
    match store
        .issue_token(
            &manager(admin),
            wider,
            event(actor(admin), "token.issue", "2"),
        )
        .await
    {
        Err(StoreError::Forbidden { field: "role", .. }) => {}
        other => panic!("a token wider than its account: {other:?}"),
    }
    let (_, foreign) = ApiToken::generate(
        &mut OsRng,
        &manager(admin),
        grant(
            "smelter.clerk",
            &format!("enterprise_operator:{}", p.smelter),
        ),
        now(),
    )
    .expect("generated");
    assert!(
        matches!(
            store
                .issue_token(&by_boss, foreign, event(actor(&boss), "token.issue", "3"))
                .await,
            Err(StoreError::NotFound(_))
        ),
        "a token for an account out of reach: as if it did not exist"
    );
    let listed = store
        .tokens(&by_boss, &PageRequest::first(100))
        .await
        .expect("tokens");
    assert_eq!(listed.items.len(), 1);

    let revoked = store
        .revoke_token(
            &by_boss,
            token.id(),
            now(),
            event(actor(&boss), "token.revoke", "1"),
        )
        .await
        .expect("revoked");
    assert!(revoked.revoked_at.is_some());
    let found = store
        .token(token.id())
        .await
        .expect("token")
        .expect("still listed");
    assert!(
        token.verify(&found, now()).is_err(),
        "a revoked token stops at once"
    );

    let (clerk_token, stored) =
        ApiToken::generate(&mut OsRng, &by_boss, grant("miner.clerk", &operator), now())
            .expect("a token for the clerk");
    store
        .issue_token(&by_boss, stored, event(actor(&boss), "token.issue", "4"))
        .await
        .expect("issued");
    store
        .change_account(
            &by_boss,
            &name("miner.clerk"),
            AccountChange {
                role: Some(role(&format!("enterprise_manager:{}", p.miner))),
                ..AccountChange::default()
            },
            event(actor(&boss), "account.change", "promote"),
        )
        .await
        .expect("promoting the clerk");
    let found = store
        .token(clerk_token.id())
        .await
        .expect("token")
        .expect("still listed");
    assert!(
        found.revoked_at.is_some(),
        "a change of role revokes the account's tokens"
    );
}

/// Throttle state: the default for a key never seen, and what was stored.
async fn check_throttle<S: Store + Identity>(store: &S) {
    let keys = vec![
        ThrottleKey::account("nobody.here"),
        ThrottleKey::source("192.0.2.7".parse().expect("an address")),
    ];
    let fresh = store.throttle(keys.clone()).await.expect("throttle");
    assert_eq!(fresh, vec![ThrottleState::default(); 2]);
    let failed = ThrottleState {
        failures: 3,
        window_start: Some(now()),
        last_failure: Some(now() + Duration::seconds(9)),
        locked_until: None,
    };
    store
        .put_throttle(
            vec![(keys[0].clone(), failed)],
            event(Actor::anonymous(None), "login.failed", "nobody.here"),
        )
        .await
        .expect("put");
    let got = store.throttle(keys).await.expect("throttle");
    assert_eq!(got, vec![failed, ThrottleState::default()]);
}

/// Idempotency keys: a retry with the same body records nothing and answers
/// with the first receipts; another body is refused; another caller's key
/// is its own.
async fn check_idempotency<S: Store + Identity>(store: &S) {
    let p = parties();
    let l = super::lots();
    let record = || {
        vec![flow(
            "2025-06-20T10:00:00+08:00",
            &p.miner,
            None,
            ship(&l.ore, "1 kg", &p.separator, "S-IDEM-1"),
        )]
    };
    let who = |account: &str| Actor {
        account: Some(name(account)),
        role: Some(role(&format!("enterprise_operator:{}", p.miner))),
        via: Via::Token("abcdEFGH".to_owned()),
        address: None,
    };
    let with_key = |account: &str, body: &[u8]| WriteContext {
        actor: who(account),
        request: "POST /api/v1/events".to_owned(),
        idempotency: Some(Idempotency::new("key-1", body).expect("a key")),
    };
    let authority = Authority::Enterprise(p.miner.clone());
    let first = store
        .append(&authority, record(), &with_key("miner.clerk", b"body one"))
        .await
        .expect("the first request");
    assert!(!first.replayed);
    let size = size_of(store).await;
    let again = store
        .append(&authority, record(), &with_key("miner.clerk", b"body one"))
        .await
        .expect("the retry");
    assert!(again.replayed);
    assert_eq!(size_of(store).await, size, "a retry records nothing");
    assert_eq!(
        again.receipts.iter().map(|r| r.index).collect::<Vec<_>>(),
        first.receipts.iter().map(|r| r.index).collect::<Vec<_>>()
    );
    assert_eq!(again.receipts[0].entry, first.receipts[0].entry);
    assert_eq!(again.checkpoint.as_bytes(), first.checkpoint.as_bytes());
    match store
        .append(&authority, record(), &with_key("miner.clerk", b"body two"))
        .await
    {
        Err(StoreError::IdempotencyMismatch { key }) => assert_eq!(key, "key-1"),
        other => panic!("a key reused with another body: {other:?}"),
    }
    let other = store
        .append(
            &authority,
            vec![flow(
                "2025-06-20T11:00:00+08:00",
                &p.miner,
                None,
                ship(&l.ore, "1 kg", &p.separator, "S-IDEM-2"),
            )],
            &with_key("miner.boss", b"body two"),
        )
        .await
        .expect("another caller's key is its own");
    assert!(!other.replayed);
}

/// The audit trail: every write is on it, refused ones too; auditors search
/// it by person, enterprise, region, action and time within their region;
/// it is a Merkle log whose checkpoints verify with the trail key.
async fn check_trail<S: Store + Identity>(store: &S, accounts: &Accounts, verifier: &LogVerifier) {
    let p = parties();
    let everything = PageRequest::first(1_000);
    let nation = Scope::Region(RegionCode::nation());
    let refused_before = store
        .trail(
            &nation,
            &TrailFilter {
                action: Some("record".to_owned()),
                ..TrailFilter::default()
            },
            &everything,
        )
        .await
        .expect("trail")
        .items
        .len();
    let clerk_actor = Actor {
        account: Some(name("ionic.clerk")),
        role: Some(role(&format!("enterprise_operator:{}", p.ionic_miner))),
        via: Via::Session,
        address: Some("198.51.100.20".parse().expect("an address")),
    };
    let size = size_of(store).await;
    let refused = store
        .append(
            &Authority::Enterprise(p.ionic_miner.clone()),
            vec![flow(
                "2025-06-21T10:00:00+08:00",
                &p.miner,
                None,
                ship(&super::lots().ore, "1 kg", &p.separator, "S-X"),
            )],
            &WriteContext {
                actor: clerk_actor,
                request: "POST /api/v1/events".to_owned(),
                idempotency: None,
            },
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Forbidden { .. })));
    assert_eq!(
        size_of(store).await,
        size,
        "the refused write stores nothing"
    );
    let records = store
        .trail(
            &nation,
            &TrailFilter {
                action: Some("record".to_owned()),
                ..TrailFilter::default()
            },
            &everything,
        )
        .await
        .expect("trail")
        .items;
    assert_eq!(records.len(), refused_before + 1, "but it is on the trail");
    let last = records.last().expect("the refused write");
    assert_eq!(last.event.status, 403);
    assert_eq!(last.event.actor.account, Some(name("ionic.clerk")));
    assert!(
        last.event.detail.contains("enterprise"),
        "{}",
        last.event.detail
    );

    let ganzhou = accounts
        .install(
            store,
            "ganzhou.city",
            "regulator:prefecture:3607:industry_it",
        )
        .await;
    let read = TrailEvent {
        enterprises: vec![p.smelter.clone()],
        region: Some(region("3607")),
        ..event(
            Actor::principal(
                &ganzhou,
                Via::Session,
                Some("203.0.113.9".parse().expect("ip")),
            ),
            "read",
            "GET /api/v1/events",
        )
    };
    let index = store.record_trail(read).await.expect("a read on the trail");
    let in_region = |code: &str| Scope::Region(region(code));
    let all = &everything;
    let of = |scope: Scope, filter: TrailFilter| async move {
        store
            .trail(&scope, &filter, all)
            .await
            .expect("trail")
            .items
            .into_iter()
            .map(|e| e.index)
            .collect::<BTreeSet<u64>>()
    };
    assert!(
        of(in_region("36"), TrailFilter::default())
            .await
            .contains(&index)
    );
    assert!(
        of(in_region("3607"), TrailFilter::default())
            .await
            .contains(&index)
    );
    assert!(
        !of(in_region("15"), TrailFilter::default())
            .await
            .contains(&index)
    );
    assert!(
        !of(in_region("65"), TrailFilter::default())
            .await
            .contains(&index)
    );
    assert!(
        of(nation.clone(), TrailFilter::default())
            .await
            .contains(&index)
    );
    let by_person = of(
        nation.clone(),
        TrailFilter {
            account: Some(name("ganzhou.city")),
            ..TrailFilter::default()
        },
    )
    .await;
    assert!(by_person.contains(&index));
    let by_enterprise = of(
        nation.clone(),
        TrailFilter {
            enterprise: Some(p.smelter.clone()),
            ..TrailFilter::default()
        },
    )
    .await;
    assert!(by_enterprise.contains(&index));
    assert!(
        !of(
            nation.clone(),
            TrailFilter {
                enterprise: Some(p.miner.clone()),
                action: Some("read".to_owned()),
                ..TrailFilter::default()
            },
        )
        .await
        .contains(&index)
    );
    let in_jiangxi = of(
        nation.clone(),
        TrailFilter {
            region: Some(region("36")),
            ..TrailFilter::default()
        },
    )
    .await;
    assert!(in_jiangxi.contains(&index));
    let far_future = now() + Duration::days(3650);
    assert!(
        of(
            nation.clone(),
            TrailFilter {
                from: Some(far_future),
                ..TrailFilter::default()
            },
        )
        .await
        .is_empty()
    );
    assert!(
        of(Scope::Enterprise(p.smelter.clone()), TrailFilter::default())
            .await
            .is_empty(),
        "only auditors' regional scopes read the trail"
    );
    let mut page = PageRequest::first(3);
    let mut paged = 0;
    loop {
        let got = store
            .trail(&nation, &TrailFilter::default(), &page)
            .await
            .expect("trail");
        paged += got.items.len();
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        paged,
        of(nation.clone(), TrailFilter::default()).await.len(),
        "trail pages join up"
    );

    let checkpoint = store.trail_checkpoint().await.expect("a trail checkpoint");
    let verified = SignedCheckpoint::parse_and_verify(checkpoint.as_bytes(), verifier)
        .expect("the trail checkpoint verifies with the trail key");
    assert!(verified.size() > index);
    let (entry, proof) = store
        .trail_proof(&in_region("36"), index, verified.size())
        .await
        .expect("a trail proof");
    for outside in [in_region("15"), Scope::Enterprise(p.smelter.clone())] {
        assert!(
            matches!(
                store.trail_proof(&outside, index, verified.size()).await,
                Err(StoreError::NotFound(_))
            ),
            "the entry's bytes go only to auditors of its region: {outside:?}"
        );
    }
    verify_inclusion(
        &leaf_hash(&entry),
        index,
        verified.size(),
        &proof,
        &verified.root(),
    )
    .expect("the read is in the trail");
    assert!(
        String::from_utf8_lossy(&entry).contains("ganzhou.city"),
        "the entry names who read"
    );
    assert!(matches!(
        store
            .trail_proof(&nation, verified.size(), verified.size())
            .await,
        Err(StoreError::NotFound(_) | StoreError::BadRequest(_))
    ));
}

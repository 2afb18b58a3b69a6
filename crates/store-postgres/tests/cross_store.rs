//! Both stores, the same inputs: the same checkpoints (byte for byte, so the
//! same Merkle roots), the same rows in every table, the same answers to
//! every read and trace, and the same errors.

mod common;

use proptest::prelude::*;
use retrace_access::{Account, AccountName, Language, Role, hash_password};
use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_store::conformance::{self, lots, parties, records};
use retrace_store::trace::{Direction, MAX_TRACE_EDGES};
use retrace_store::{
    Actor, Authority, EntryFilter, FlagFilter, Identity, MAX_PAGE, PageRequest, Scope, StockFilter,
    Store, StoreError, TrailEvent, TrailFilter, WriteContext,
};
use retrace_store_postgres::PgStore;
use retrace_store_sqlite::{SqliteConfig, SqliteStore};

fn sqlite(dir: &std::path::Path) -> SqliteStore {
    let c = common::config(common::clock());
    SqliteStore::open(
        &dir.join("cross.db"),
        SqliteConfig {
            log_key: c.log_key,
            trail_key: c.trail_key,
            salt_secret: c.salt_secret,
            clock: c.clock,
            projector: c.projector,
        },
    )
    .unwrap()
}

/// An answer as text, so that errors compare too (`StoreError` is not `PartialEq`).
fn shown<T: std::fmt::Debug>(answer: &Result<T, StoreError>) -> String {
    format!("{answer:?}")
}

async fn same_tables(lite: &SqliteStore, pg: &PgStore) {
    let a = lite.table_digests().unwrap();
    let b = pg.table_digests().await.unwrap();
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().any(|(t, rows, _)| t == "ledger" && *rows > 0),
        "there is something to compare"
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "table {} differs between the stores", x.0);
    }
}

fn scopes() -> Vec<Scope> {
    let p = parties();
    vec![
        Scope::Installation,
        Scope::Enterprise(p.exporter.clone()),
        Scope::Enterprise(p.smelter.clone()),
        Scope::Group(retrace_domain::enterprise::Group::NorthernRareEarth),
        Scope::Region("15".parse().unwrap()),
        Scope::Region("3607".parse().unwrap()),
    ]
}

async fn same_reads(lite: &SqliteStore, pg: &PgStore, lot_ids: &[LotId]) {
    let everything = PageRequest::first(MAX_PAGE);
    let small = PageRequest::first(3);
    assert_eq!(
        shown(&lite.checkpoint().await),
        shown(&pg.checkpoint().await)
    );
    assert_eq!(
        shown(&lite.checkpoints(0, MAX_PAGE).await),
        shown(&pg.checkpoints(0, MAX_PAGE).await)
    );
    let size = pg.checkpoint().await.unwrap().checkpoint().size();
    for (index, at) in [(0, size), (size / 2, size), (size - 1, size), (0, size + 1)] {
        assert_eq!(
            shown(&lite.inclusion_proof(index, at).await),
            shown(&pg.inclusion_proof(index, at).await)
        );
    }
    assert_eq!(
        shown(&lite.consistency_proof(size / 3, size).await),
        shown(&pg.consistency_proof(size / 3, size).await)
    );
    for scope in scopes() {
        for index in [0, 16, size / 2, size - 1, size + 7] {
            assert_eq!(
                shown(&lite.entry(&scope, index).await),
                shown(&pg.entry(&scope, index).await),
                "entry {index} for {scope:?}"
            );
            assert_eq!(
                shown(&lite.receipt(&scope, index).await.map(|r| r.to_bytes())),
                shown(&pg.receipt(&scope, index).await.map(|r| r.to_bytes())),
            );
        }
        for page in [&everything, &small] {
            assert_eq!(
                shown(&lite.entries(&scope, &EntryFilter::default(), page).await),
                shown(&pg.entries(&scope, &EntryFilter::default(), page).await),
                "entries for {scope:?}"
            );
            assert_eq!(
                shown(&lite.stock(&scope, &StockFilter::default(), page).await),
                shown(&pg.stock(&scope, &StockFilter::default(), page).await),
                "stock for {scope:?}"
            );
            let empty = StockFilter {
                include_empty: true,
                ..StockFilter::default()
            };
            assert_eq!(
                shown(&lite.stock(&scope, &empty, page).await),
                shown(&pg.stock(&scope, &empty, page).await),
            );
            assert_eq!(
                shown(&lite.flags(&scope, &FlagFilter::default(), page).await),
                shown(&pg.flags(&scope, &FlagFilter::default(), page).await),
                "flags for {scope:?}"
            );
        }
        for lot in lot_ids {
            assert_eq!(
                shown(&lite.lot(&scope, lot).await),
                shown(&pg.lot(&scope, lot).await),
                "lot {lot} for {scope:?}"
            );
            let by_lot = EntryFilter {
                lot: Some(lot.clone()),
                ..EntryFilter::default()
            };
            assert_eq!(
                shown(&lite.entries(&scope, &by_lot, &everything).await),
                shown(&pg.entries(&scope, &by_lot, &everything).await),
            );
            for direction in [Direction::Backward, Direction::Forward] {
                for page in [PageRequest::first(MAX_TRACE_EDGES), PageRequest::first(2)] {
                    assert_eq!(
                        shown(&lite.trace(&scope, lot, direction, &page).await),
                        shown(&pg.trace(&scope, lot, direction, &page).await),
                        "trace of {lot} {direction:?} for {scope:?}"
                    );
                }
            }
        }
    }
    let bad = PageRequest {
        after: Some("not-a-cursor".to_owned()),
        limit: 10,
    };
    assert_eq!(
        shown(
            &lite
                .entries(&Scope::Installation, &EntryFilter::default(), &bad)
                .await
        ),
        shown(
            &pg.entries(&Scope::Installation, &EntryFilter::default(), &bad)
                .await
        )
    );
    assert_eq!(
        shown(
            &lite
                .stock(&Scope::Installation, &StockFilter::default(), &bad)
                .await
        ),
        shown(
            &pg.stock(&Scope::Installation, &StockFilter::default(), &bad)
                .await
        )
    );
}

fn fixture_lots() -> Vec<LotId> {
    let l = lots();
    let p = parties();
    vec![
        l.ore,
        l.nd_oxide,
        l.dy_oxide,
        l.la_ce_oxide,
        l.nd_metal,
        l.magnet,
        l.opening,
        l.monazite,
        l.ionic,
        LotId::under_uscc(&p.miner, "NO-SUCH-LOT").unwrap(),
    ]
}

/// The conformance suite's whole story on both stores, then every read
/// compared; the same refusals of the same bad batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_tell_the_same_story() {
    let Some(db) = common::TestDb::create("both_stores_tell_the_same_story") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite(dir.path());
    let (pg, verifier) = db.open();
    conformance::run_all(&lite, &verifier).await;
    conformance::run_all(&pg, &verifier).await;
    same_tables(&lite, &pg).await;
    same_reads(&lite, &pg, &fixture_lots()).await;

    let p = parties();
    let l = lots();
    let later = records::may(60 * 24 * 40);
    let batches: Vec<(Authority, Vec<Record>)> = vec![
        (
            Authority::Installation,
            vec![records::ship(
                later,
                &p.miner,
                &l.ore,
                0,
                &p.separator,
                "X-0",
            )],
        ),
        (
            Authority::Installation,
            vec![
                records::adjust(later, &p.exporter, &l.opening, -1_000),
                records::ship(later, &p.exporter, &l.opening, 1_000, &p.exporter, "X-1"),
            ],
        ),
        (
            Authority::Enterprise(p.smelter.clone()),
            vec![records::adjust(later, &p.exporter, &l.opening, -1_000)],
        ),
        (
            Authority::Installation,
            vec![records::correction(later, &p.exporter, 10_000)],
        ),
        (
            Authority::Installation,
            vec![records::opening(
                records::may(0) + time::Duration::days(3650),
                &p.exporter,
                "FUTURE-1",
                1_000,
            )],
        ),
        (
            Authority::Installation,
            vec![
                records::opening(later, &p.exporter, "TWICE", 1_000),
                records::opening(later, &p.exporter, "TWICE", 1_000),
            ],
        ),
        (
            Authority::Installation,
            vec![records::receive(
                later,
                &p.magnet_maker,
                &l.magnet,
                5,
                &p.warehouse,
                "NONE",
            )],
        ),
    ];
    for (scope, batch) in batches {
        let a = lite
            .append(&scope, batch.clone(), &WriteContext::installation("test"))
            .await
            .map(|a| a.checkpoint);
        let b = pg
            .append(&scope, batch, &WriteContext::installation("test"))
            .await
            .map(|a| a.checkpoint);
        assert_eq!(shown(&a), shown(&b), "the same batch, the same answer");
    }
    same_tables(&lite, &pg).await;
    let (x, y) = (
        lite.audit(None).await.unwrap(),
        pg.audit(None).await.unwrap(),
    );
    assert!(
        x.problems.is_empty() && y.problems.is_empty(),
        "{x:#?} {y:#?}"
    );
    assert_eq!((x.entries, x.root), (y.entries, y.root));
    assert_eq!(
        (x.trail_entries, x.trail_root),
        (y.trail_entries, y.trail_root)
    );
    same_trail(&lite, &pg).await;
    same_identity(&lite, &pg).await;
}

/// The audit trail: the same entries, the same signed trail checkpoint byte
/// for byte, the same regional searches.
async fn same_trail(lite: &SqliteStore, pg: &PgStore) {
    let (a, b) = (
        lite.trail_checkpoint().await.unwrap(),
        pg.trail_checkpoint().await.unwrap(),
    );
    assert_eq!(a.as_bytes(), b.as_bytes(), "the same trail checkpoint");
    assert!(a.checkpoint().size() > 0, "the story is on the trail");
    for scope in scopes() {
        let page = PageRequest::first(MAX_PAGE);
        let (x, y) = (
            lite.trail(&scope, &TrailFilter::default(), &page).await,
            pg.trail(&scope, &TrailFilter::default(), &page).await,
        );
        assert_eq!(shown(&x), shown(&y), "the trail under {scope:?}");
        let size = a.checkpoint().size();
        for index in [0, size / 2, size - 1] {
            let (x, y) = (
                lite.trail_proof(&scope, index, size).await,
                pg.trail_proof(&scope, index, size).await,
            );
            assert_eq!(shown(&x), shown(&y), "trail proof {index} under {scope:?}");
        }
    }
}

/// The same identity changes give the same answers, refusals and trail.
async fn same_identity(lite: &SqliteStore, pg: &PgStore) {
    let password = hash_password("a long enough passphrase", &mut rand_core::OsRng).unwrap();
    let account = |name: &str, role: Role| Account {
        name: AccountName::parse(name).unwrap(),
        role,
        password: password.clone(),
        disabled: false,
        display_name: name.to_owned(),
        language: Language::En,
    };
    let trail = |target: &str| TrailEvent {
        actor: Actor::installation(),
        action: "account.create".to_owned(),
        target: target.to_owned(),
        enterprises: Vec::new(),
        region: None,
        status: 201,
        detail: String::new(),
    };
    let operator = Role::EnterpriseOperator {
        enterprise: parties().miner,
    };
    for (name, role) in [
        ("cross.admin", Role::Administrator),
        ("cross.operator", operator.clone()),
        ("cross.admin", Role::Administrator),
    ] {
        let (x, y) = (
            lite.install_account(account(name, role.clone()), trail(name))
                .await,
            pg.install_account(account(name, role.clone()), trail(name))
                .await,
        );
        assert_eq!(shown(&x), shown(&y), "installing {name}");
    }
    assert!(
        matches!(
            pg.install_account(account("cross.admin", Role::Administrator), trail("again"))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a name is taken once"
    );
    let (x, y) = (
        lite.account(&AccountName::parse("cross.operator").unwrap())
            .await
            .unwrap(),
        pg.account(&AccountName::parse("cross.operator").unwrap())
            .await
            .unwrap(),
    );
    assert_eq!(x.map(|a| a.role), y.map(|a| a.role));
    // The refused install is on PostgreSQL's trail only: compare before it.
    let x = lite.trail_checkpoint().await.unwrap();
    let y = pg
        .trail(
            &Scope::Installation,
            &TrailFilter::default(),
            &PageRequest::first(MAX_PAGE),
        )
        .await
        .unwrap();
    assert_eq!(
        y.items.len() as u64,
        x.checkpoint().size() + 1,
        "every install, refused or not, is on the trail"
    );
    assert_eq!(y.items.last().unwrap().event.status, 409);
}

#[derive(Clone, Debug)]
enum Op {
    Opening {
        by: usize,
        grams: u64,
    },
    Ship {
        by: usize,
        lot: usize,
        grams: u64,
        to: usize,
        received: Option<u64>,
    },
    Adjust {
        by: usize,
        lot: usize,
        grams: i64,
    },
    Correct {
        which: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0usize..3;
    let grams = 1u64..5_000_000;
    prop_oneof![
        2 => (who.clone(), grams.clone()).prop_map(|(by, grams)| Op::Opening { by, grams }),
        3 => (who.clone(), any::<usize>(), grams, who.clone(), proptest::option::of(1u64..5_000_000))
            .prop_map(|(by, lot, grams, to, received)| Op::Ship { by, lot, grams, to, received }),
        2 => (who, any::<usize>(), -3_000_000i64..3_000_000).prop_map(|(by, lot, grams)| Op::Adjust { by, lot, grams }),
        1 => any::<usize>().prop_map(|which| Op::Correct { which }),
    ]
}

/// The batches of a run of operations, with event times going back and forth.
fn batches(ops: &[Op], chunk: usize) -> Vec<Vec<Record>> {
    let p = parties();
    let who: [Uscc; 3] = [p.exporter, p.warehouse, p.magnet_maker];
    let mut lot_ids: Vec<(usize, LotId)> = Vec::new();
    let mut out: Vec<Record> = conformance::fixture()
        .into_iter()
        .take_while(|r| matches!(r, Record::Act(_)))
        .collect();
    let first_flow = out.len() as u64;
    for (n, op) in ops.iter().enumerate() {
        let when = records::may(((n * 37) % 500) as i64);
        let record = match op {
            Op::Opening { by, grams } => {
                let lot = records::lot(&who[*by], &format!("P-{n}"));
                lot_ids.push((*by, lot));
                records::opening(when, &who[*by], &format!("P-{n}"), *grams)
            }
            Op::Ship {
                by,
                lot,
                grams,
                to,
                received,
            } => {
                let Some((_, id)) = lot_ids.get(lot % lot_ids.len().max(1)).cloned() else {
                    continue;
                };
                let to = if to == by { (to + 1) % 3 } else { *to };
                out.push(records::ship(
                    when,
                    &who[*by],
                    &id,
                    *grams,
                    &who[to],
                    &format!("S-{n}"),
                ));
                match received {
                    Some(r) => {
                        records::receive(when, &who[to], &id, *r, &who[*by], &format!("S-{n}"))
                    }
                    None => continue,
                }
            }
            Op::Adjust { by, lot, grams } => {
                let Some((_, id)) = lot_ids.get(lot % lot_ids.len().max(1)).cloned() else {
                    continue;
                };
                records::adjust(when, &who[*by], &id, if *grams == 0 { 1 } else { *grams })
            }
            Op::Correct { which } => {
                let count = out.len() as u64 - first_flow;
                if count == 0 {
                    continue;
                }
                let Record::Flow(target) = &out[(first_flow + (*which as u64 % count)) as usize]
                else {
                    continue;
                };
                let by = target.enterprise.clone();
                records::correction(when, &by, first_flow + (*which as u64 % count))
            }
        };
        out.push(record);
    }
    out.chunks(chunk).map(<[Record]>::to_vec).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Random flows, back-dated and corrected, cut into random batches, some
    /// refused: both stores commit and refuse the same batches, and end with
    /// the same checkpoints and the same rows in every table.
    #[test]
    fn random_flows_give_the_same_ledger_and_projections(ops in proptest::collection::vec(op(), 1..60), chunk in 1usize..12) {
        let Some(db) = common::TestDb::create("random_flows_give_the_same_ledger_and_projections") else {
            return Ok(());
        };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let lite = sqlite(dir.path());
            let (pg, _) = db.open();
            for batch in batches(&ops, chunk) {
                let a = lite.append(&Authority::Installation, batch.clone(), &WriteContext::installation("test")).await.map(|a| a.checkpoint);
                let b = pg.append(&Authority::Installation, batch, &WriteContext::installation("test")).await.map(|a| a.checkpoint);
                assert_eq!(shown(&a), shown(&b));
            }
            same_tables(&lite, &pg).await;
            let report = pg.audit(None).await.unwrap();
            assert!(report.problems.is_empty(), "{:#?}", report.problems);
        });
    }
}

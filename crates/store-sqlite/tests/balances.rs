//! Random sequences of appends and corrections keep every position equal to
//! the sum of its movements, and the audit's rebuild matches the live tables.

mod common;

use proptest::prelude::*;
use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_store::conformance::parties;
use retrace_store::{Store, StoreError};
use retrace_store_sqlite::SqliteStore;
use rusqlite::Connection;

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
    Receive {
        by: usize,
        lot: usize,
        grams: u64,
        from: usize,
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
        3 => (who.clone(), any::<usize>(), grams.clone(), who.clone(), proptest::option::of(grams.clone()))
            .prop_map(|(by, lot, grams, to, received)| Op::Ship { by, lot, grams, to, received }),
        1 => (who.clone(), any::<usize>(), grams.clone(), who.clone()).prop_map(|(by, lot, grams, from)| Op::Receive { by, lot, grams, from }),
        2 => (who, any::<usize>(), -3_000_000i64..3_000_000).prop_map(|(by, lot, grams)| Op::Adjust { by, lot, grams }),
        1 => any::<usize>().prop_map(|which| Op::Correct { which }),
    ]
}

struct World {
    store: SqliteStore,
    who: [Uscc; 3],
    lots: Vec<LotId>,
    /// Flows that stand, with who recorded them: what a correction may name.
    flows: Vec<(u64, Uscc)>,
    minute: i64,
    shipments: u64,
}

impl World {
    /// Loads a batch; a refusal is an answer, anything else a failure.
    fn load(&mut self, batch: Vec<Record>) -> Option<u64> {
        let n = batch.len() as u64;
        let by: Vec<Uscc> = batch.iter().map(|r| r.enterprise().clone()).collect();
        match self.store.load(batch, "test") {
            Ok(cp) => {
                let end = cp.checkpoint().size();
                self.flows.extend((end - n..end).zip(by));
                Some(end - n)
            }
            Err(StoreError::Refused { .. }) => None,
            Err(e) => panic!("load failed: {e}"),
        }
    }

    fn tick(&mut self) -> time::OffsetDateTime {
        self.minute += 7;
        common::may(self.minute)
    }

    fn apply(&mut self, op: Op) {
        let when = self.tick();
        match op {
            Op::Opening { by, grams } => {
                let number = format!("P-{}", self.minute);
                if self
                    .load(vec![common::opening(when, &self.who[by], &number, grams)])
                    .is_some()
                {
                    self.lots.push(common::lot(&self.who[by], &number));
                }
            }
            Op::Ship {
                by,
                lot,
                grams,
                to,
                received,
            } if !self.lots.is_empty() => {
                let lot = self.lots[lot % self.lots.len()].clone();
                self.shipments += 1;
                let number = format!("S-{}", self.shipments);
                let mut batch = vec![common::ship(
                    when,
                    &self.who[by],
                    &lot,
                    grams,
                    &self.who[to],
                    &number,
                )];
                if let Some(got) = received {
                    batch.push(common::receive(
                        when + time::Duration::hours(1),
                        &self.who[to],
                        &lot,
                        got,
                        &self.who[by],
                        &number,
                    ));
                }
                self.load(batch);
            }
            Op::Receive {
                by,
                lot,
                grams,
                from,
            } if !self.lots.is_empty() => {
                let lot = self.lots[lot % self.lots.len()].clone();
                self.shipments += 1;
                let number = format!("S-{}", self.shipments);
                self.load(vec![common::receive(
                    when,
                    &self.who[by],
                    &lot,
                    grams,
                    &self.who[from],
                    &number,
                )]);
            }
            Op::Adjust { by, lot, grams } if !self.lots.is_empty() => {
                let lot = self.lots[lot % self.lots.len()].clone();
                self.load(vec![common::adjust(when, &self.who[by], &lot, grams)]);
            }
            Op::Correct { which } if !self.flows.is_empty() => {
                let (index, by) = self.flows.remove(which % self.flows.len());
                self.load(vec![common::correction(when, &by, index)]);
            }
            _ => {}
        }
    }
}

fn grouped(conn: &Connection, sql: &str) -> Vec<(String, String, String, i64, i64)> {
    let mut st = conn.prepare(sql).unwrap();
    st.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn positions_are_the_sum_of_their_movements(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("balances.db");
        let (store, _) = common::open(&path);
        store.load(common::register(), "test").unwrap();
        let p = parties();
        let mut world = World { store, who: [p.exporter, p.magnet_maker, p.warehouse], lots: Vec::new(), flows: Vec::new(), minute: 0, shipments: 0 };
        for op in ops {
            world.apply(op);
        }
        let raw = Connection::open(&path).unwrap();
        let positions = grouped(&raw, "SELECT l.code, holder, owner, mass, p.reo FROM position p JOIN lot l ON l.id = p.lot ORDER BY 1, 2, 3");
        let movements = grouped(&raw, "SELECT l.code, holder, owner, SUM(mass), SUM(m.reo) FROM movement m JOIN lot l ON l.id = m.lot GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
        prop_assert_eq!(positions, movements);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let report = runtime.block_on(world.store.audit(None)).unwrap();
        prop_assert!(report.problems.is_empty(), "{:#?}", report.problems);
    }
}

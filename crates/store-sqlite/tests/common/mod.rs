//! Opening a store on a temporary file, with a fixed key, secret and clock,
//! and the records the tests append.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]

use std::path::Path;
use std::sync::Arc;

use retrace_domain::clock::ManualClock;
use retrace_domain::project::Projector;
use retrace_ledger::checkpoint::{LogKey, LogVerifier};
use retrace_store_sqlite::{SqliteConfig, SqliteStore};

pub const ORIGIN: &str = "retrace.test/log";

pub fn key() -> LogKey {
    LogKey::from_seed(ORIGIN, &[7; 32]).unwrap()
}

pub fn trail_key() -> LogKey {
    LogKey::from_seed("retrace.test/log/trail", &[8; 32]).unwrap()
}

pub fn config(clock: Arc<ManualClock>) -> SqliteConfig {
    SqliteConfig {
        log_key: key(),
        trail_key: trail_key(),
        salt_secret: [42; 32],
        clock,
        projector: Projector::default(),
    }
}

/// A clock after every flow of the conformance fixture.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        time::macros::datetime!(2025-07-01 00:00 +08:00),
    ))
}

pub fn open(path: &Path) -> (SqliteStore, LogVerifier) {
    let store = SqliteStore::open(path, config(clock())).unwrap();
    (store, key().verifier())
}

use retrace_domain::distribution::ElementDistribution;
use retrace_domain::element::Element;
use retrace_domain::flow::{
    Adjust, AdjustReason, Correction, Flow, FlowEvent, NewLot, Opening, Receive, Ship,
};
use retrace_domain::lot::LotId;
use retrace_domain::measurement::Measurement;
use retrace_domain::product::ProductCode;
use retrace_domain::quantity::{Mass, MassChange, Share};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_store::conformance;
use time::OffsetDateTime;

/// The fixture's register: its enterprises, facilities and designations.
pub fn register() -> Vec<Record> {
    conformance::fixture()
        .into_iter()
        .take_while(|r| matches!(r, Record::Act(_)))
        .collect()
}

/// A moment in May 2025, `minute` minutes after its start (Asia/Shanghai).
pub fn may(minute: i64) -> OffsetDateTime {
    time::macros::datetime!(2025-05-01 00:00 +08:00) + time::Duration::minutes(minute)
}

pub fn flow(when: OffsetDateTime, enterprise: &Uscc, flow: Flow) -> Record {
    Record::Flow(FlowEvent {
        event_time: when,
        enterprise: enterprise.clone(),
        facility: None,
        reference: None,
        flow,
    })
}

pub fn lot(owner: &Uscc, number: &str) -> LotId {
    LotId::under_uscc(owner, number).unwrap()
}

/// Declared opening stock of cerium oxide.
pub fn opening(when: OffsetDateTime, enterprise: &Uscc, number: &str, grams: u64) -> Record {
    let output = NewLot {
        lot: lot(enterprise, number),
        product: ProductCode::parse("OXI-CE").unwrap(),
        measurement: Measurement::dry(Mass::from_grams(grams), "99%".parse::<Share>().unwrap()),
        distribution: Some(ElementDistribution::pure(Element::Ce)),
        feed_origin: None,
    };
    flow(
        when,
        enterprise,
        Flow::Opening(Opening {
            output,
            documents: vec!["stock list".to_owned()],
        }),
    )
}

pub fn ship(
    when: OffsetDateTime,
    from: &Uscc,
    lot: &LotId,
    grams: u64,
    to: &Uscc,
    number: &str,
) -> Record {
    flow(
        when,
        from,
        Flow::Ship(Ship {
            lot: lot.clone(),
            mass: Mass::from_grams(grams),
            to: to.clone(),
            shipment: number.to_owned(),
            contract: None,
            invoice: None,
        }),
    )
}

pub fn receive(
    when: OffsetDateTime,
    by: &Uscc,
    lot: &LotId,
    grams: u64,
    from: &Uscc,
    number: &str,
) -> Record {
    flow(
        when,
        by,
        Flow::Receive(Receive {
            lot: lot.clone(),
            from: from.clone(),
            shipment: number.to_owned(),
            mass: Mass::from_grams(grams),
            grade: None,
        }),
    )
}

pub fn adjust(when: OffsetDateTime, by: &Uscc, lot: &LotId, grams: i64) -> Record {
    let reason = if grams < 0 {
        AdjustReason::Loss
    } else {
        AdjustReason::StockTake
    };
    flow(
        when,
        by,
        Flow::Adjust(Adjust {
            lot: lot.clone(),
            change: MassChange::from_grams(grams),
            reason,
            grade: None,
            note: None,
        }),
    )
}

pub fn correction(when: OffsetDateTime, by: &Uscc, corrects: u64) -> Record {
    flow(
        when,
        by,
        Flow::Correction(Correction {
            corrects,
            reason: "entered in error".to_owned(),
        }),
    )
}

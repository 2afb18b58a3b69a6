//! Sequence and project one record (DESIGN.md §3): the projector validates it
//! against the state, the ledger entry is built at its index, and its effects
//! are applied to the projections — as pending rows of the request
//! ([`crate::pending`]), written before the request's savepoint is released.
//! The live sequencer and the audit's replay run this same code, so a
//! rebuild reproduces the live tables exactly.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use retrace_domain::lot::LotId;
use retrace_domain::project::{
    Effects, FlagChange, ProjectError, Projector, Refusal, RegistryChange, StateView as _,
};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_ledger::hash::{Hash, leaf_hash};
use retrace_store::cache::ViewCache;
use retrace_store::entry::{build_entry, record_lots};

use crate::codec::{self, Corrupt, RecordTime};
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::pending::{LedgerRow, Pending};
use crate::view::TableView;

/// Why a record was not sequenced.
#[derive(Debug)]
pub(crate) enum SequenceError {
    Refused(Refusal),
    Failed(DbError),
}

impl From<DbError> for SequenceError {
    fn from(e: DbError) -> SequenceError {
        SequenceError::Failed(e)
    }
}

impl From<Corrupt> for SequenceError {
    fn from(e: Corrupt) -> SequenceError {
        SequenceError::Failed(e.into())
    }
}

/// What a sequenced record left in the ledger.
#[derive(Debug)]
pub(crate) struct Sequenced {
    /// The entry's canonical bytes.
    pub entry: Vec<u8>,
    /// Its RFC 9162 leaf hash.
    pub leaf: Hash,
}

/// The ledger partitions known to exist, and the next `lot.id`: state of
/// the sequencer that a rollback takes back ([`Counters::forget`]).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    months: RefCell<HashSet<String>>,
    next_lot: Cell<i64>,
}

impl Counters {
    /// Reads the next `lot.id` from `lot` (ids start at 1, as SQLite's rowids do).
    pub(crate) fn load(conn: &Conn) -> DbResult<Counters> {
        let next: i64 = conn
            .query_one("SELECT COALESCE(MAX(id), 0) + 1 FROM lot", &[])?
            .try_get(0)?;
        Ok(Counters {
            months: RefCell::default(),
            next_lot: Cell::new(next),
        })
    }

    /// After a rollback: the partitions made since may be gone, and the lots.
    pub(crate) fn forget(&self, next_lot: i64) {
        self.months.borrow_mut().clear();
        self.next_lot.set(next_lot);
    }

    pub(crate) fn next_lot(&self) -> i64 {
        self.next_lot.get()
    }

    /// Makes the ledger partition of `month` unless it is known to exist.
    fn month(&self, conn: &Conn, month: &str) -> DbResult<()> {
        if self.months.borrow().contains(month) {
            return Ok(());
        }
        conn.execute("SELECT retrace_ledger_month($1)", &[&month])?;
        self.months.borrow_mut().insert(month.to_owned());
        Ok(())
    }
}

/// Validates, sequences and projects records on one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sequencer<'a> {
    pub conn: &'a Conn,
    pub cache: &'a ViewCache,
    pub pending: &'a Pending,
    pub counters: &'a Counters,
    pub secret: &'a [u8; 32],
    pub projector: &'a Projector,
}

impl Sequencer<'_> {
    /// Sequences `record` as entry `index` recorded at `now`: projects it
    /// (refusing it if the projector does), stores the entry and its opening,
    /// and applies its effects.
    ///
    /// # Errors
    /// [`SequenceError::Refused`] with the projector's refusal; nothing is
    /// written then. [`SequenceError::Failed`] when the database fails, after
    /// which the caller rolls back.
    pub(crate) fn record(
        &self,
        index: u64,
        now: &RecordTime,
        record: &Record,
    ) -> Result<Sequenced, SequenceError> {
        let view = TableView {
            conn: self.conn,
            cache: self.cache,
            pending: self.pending,
        };
        let effects = match self.projector.project(index, now.at, record, &view) {
            Ok(effects) => effects,
            Err(ProjectError::Refused(refusal)) => return Err(SequenceError::Refused(refusal)),
            Err(ProjectError::State(e)) => return Err(SequenceError::Failed(e)),
        };
        let (entry, opening) = build_entry(self.secret, index, record, &now.text)?;
        let bytes = entry.encode();
        let leaf = leaf_hash(&bytes);
        self.counters.month(self.conn, now.month())?;
        self.pending.ledger(
            LedgerRow {
                idx: codec::sql_index(index),
                month: now.month().to_owned(),
                record_time: now.text.clone(),
                kind: entry.kind().to_owned(),
                enterprise: record.enterprise().as_str().to_owned(),
                entry: bytes.clone(),
                leaf: leaf.0,
                salt: opening.salt,
                record: opening.value,
            },
            record,
        );
        self.apply(&view, index, record, &effects)?;
        Ok(Sequenced { entry: bytes, leaf })
    }

    /// Applies a record's effects to the projections, and to the cache of
    /// what the projector reads.
    fn apply(
        &self,
        view: &TableView<'_>,
        index: u64,
        record: &Record,
        effects: &Effects,
    ) -> DbResult<()> {
        let (conn, cache, pending) = (self.conn, self.cache, self.pending);
        let at = codec::sql_index(index);
        for change in &effects.registry {
            registry(conn, change)?;
            cache.register_changed();
        }
        for lot in &effects.lots {
            let id = self.counters.next_lot.get();
            self.counters.next_lot.set(id + 1);
            pending.lot(id, lot);
            cache.put_lot(&lot.lot, Some(lot));
            cache.put_lot_key(&lot.lot, id);
            cache.created(&lot.lot);
        }
        for lot in &effects.lot_revisions {
            let id = key_of(view, &lot.lot)?;
            cache.put_lot(&lot.lot, Some(lot));
            pending.revise(id, lot);
        }
        for (n, m) in effects.movements.iter().enumerate() {
            let lot = key_of(view, &m.lot)?;
            pending.movement(number(n), lot, m);
            cache.moved(m);
        }
        for (n, e) in effects.edges.iter().enumerate() {
            pending.edge([
                at,
                i64::from(number(n)),
                key_of(view, &e.from)?,
                key_of(view, &e.to)?,
                codec::grams(e.mass),
                codec::grams(e.reo),
            ]);
        }
        for (n, m) in effects.members.iter().enumerate() {
            pending.member(number(n), key_of(view, &m.lot)?, m);
        }
        for (key, delta) in &effects.process_months {
            let mut totals = view.process_month(key)?;
            totals.add(delta, 1);
            cache.put_process_month(key, &totals);
            pending.process_month(key, &totals);
        }
        for s in &effects.shipments {
            cache.put_shipment(&s.sender, &s.number, Some(s));
            let ship_lot = s.ship.as_ref().map(|x| key_of(view, &x.lot)).transpose()?;
            let receive_lot = s
                .receive
                .as_ref()
                .map(|x| key_of(view, &x.lot))
                .transpose()?;
            pending.shipment(s, ship_lot, receive_lot);
        }
        if let Some(corrected) = effects.corrects {
            pending.status(codec::sql_index(corrected), at);
        }
        for change in &effects.flags {
            match change {
                FlagChange::Raise(f) => {
                    cache.put_flag(&f.key, Some(f));
                    pending.flag(&f.key, Some(f));
                }
                FlagChange::Clear(key) => {
                    cache.put_flag(key, None);
                    pending.flag(key, None);
                }
            }
        }
        let mut lots: Vec<&LotId> = record_lots(record);
        lots.extend(
            effects
                .lots
                .iter()
                .chain(&effects.lot_revisions)
                .map(|l| &l.lot),
        );
        lots.extend(effects.movements.iter().map(|m| &m.lot));
        lots.extend(effects.edges.iter().flat_map(|e| [&e.from, &e.to]));
        lots.extend(effects.members.iter().map(|m| &m.lot));
        let mut keys = lots
            .into_iter()
            .map(|lot| key_of(view, lot))
            .collect::<DbResult<Vec<i64>>>()?;
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            pending.entry_lot(key, at);
        }
        Ok(())
    }
}

/// The position of an effect within its entry (`n`), as an SQL integer.
fn number(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The `lot.id` of a lot the projector has read or this record created.
fn key_of(view: &TableView<'_>, lot: &LotId) -> DbResult<i64> {
    view.lot_key(lot)?
        .ok_or_else(|| DbError::corrupt("lot", format!("{lot} has no row")))
}

/// Writes a change of the register at once: acts are few, and the regional
/// scope of every read depends on `enterprise_place`.
fn registry(conn: &Conn, change: &RegistryChange) -> DbResult<()> {
    match change {
        RegistryChange::Enterprise(e) => {
            let group = e.group.as_ref().map(codec::token).transpose()?;
            conn.execute(
                "INSERT INTO enterprise (uscc, grp, seat, body) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (uscc) DO UPDATE SET grp = excluded.grp, seat = excluded.seat, body = excluded.body",
                &[&e.uscc.as_str(), &group, &e.seat.as_str(), &codec::json(e)?],
            )?;
            places(conn, &e.uscc)
        }
        RegistryChange::Facility(f) => {
            conn.execute(
                "INSERT INTO facility (id, operator, region, body) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET operator = excluded.operator, region = excluded.region, body = excluded.body",
                &[
                    &f.id.as_str(),
                    &f.operator.as_str(),
                    &f.region.as_str(),
                    &codec::json(f)?,
                ],
            )?;
            places(conn, &f.operator)
        }
        RegistryChange::Designation(d) => {
            conn.execute(
                "INSERT INTO designation (enterprise, category, valid_from, valid_to, document) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (enterprise, category, valid_from) DO UPDATE SET valid_to = excluded.valid_to, document = excluded.document",
                &[
                    &d.enterprise.as_str(),
                    &codec::token(&d.category)?,
                    &codec::date_text(d.valid_from)?,
                    &codec::date_text(d.valid_to)?,
                    &d.document,
                ],
            )?;
            Ok(())
        }
        RegistryChange::Revocation {
            enterprise,
            category,
            last_day,
        } => {
            conn.execute(
                "UPDATE designation SET valid_to = $3 WHERE enterprise = $1 AND category = $2 AND valid_to > $3",
                &[
                    &enterprise.as_str(),
                    &codec::token(category)?,
                    &codec::date_text(*last_day)?,
                ],
            )?;
            Ok(())
        }
    }
}

/// Rewrites where an enterprise is: its seat and every facility region
/// (DESIGN.md §2, "a regulator supervises an enterprise whose seat, or any of
/// whose facilities, lies in its region").
fn places(conn: &Conn, uscc: &Uscc) -> DbResult<()> {
    conn.execute(
        "DELETE FROM enterprise_place WHERE uscc = $1",
        &[&uscc.as_str()],
    )?;
    conn.execute(
        "INSERT INTO enterprise_place (uscc, region) \
         SELECT uscc, seat FROM enterprise WHERE uscc = $1 UNION SELECT operator, region FROM facility WHERE operator = $1 \
         ON CONFLICT DO NOTHING",
        &[&uscc.as_str()],
    )?;
    Ok(())
}

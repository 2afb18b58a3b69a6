//! Sequence and project one record (DESIGN.md §3): the projector validates it
//! against the state, the ledger entry is built and stored at its index, and
//! its effects are applied to the projections — all on one connection, inside
//! the caller's transaction. The live writer and the audit's replay run this
//! same code, so a rebuild reproduces the live tables exactly.

use std::cell::RefCell;
use std::collections::BTreeMap;

use retrace_domain::lot::LotId;
use retrace_domain::project::{
    Effects, FlagChange, LotState, Movement, ProjectError, Projector, Refusal, RegistryChange,
};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_ledger::hash::{Hash, leaf_hash};
use rusqlite::{Connection, params};

use crate::codec::{self, RecordTime};
use crate::error::{DbError, DbResult};
use crate::view::TableView;
use retrace_store::cache::ViewCache;
use retrace_store::entry::{build_entry, record_lots};

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

impl From<retrace_store::codec::Corrupt> for SequenceError {
    fn from(e: retrace_store::codec::Corrupt) -> SequenceError {
        SequenceError::Failed(e.into())
    }
}

impl From<rusqlite::Error> for SequenceError {
    fn from(e: rusqlite::Error) -> SequenceError {
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

/// The stock changes of the records sequenced since the last
/// [`Positions::flush`], summed by position `(lot.id, holder, owner)`.
///
/// Nothing on the writing connection reads `position` (the projector reads
/// movements), so its rows can wait until the request ends and then be
/// written once per position, in key order, instead of once per movement at
/// wherever the key falls: a hot lot moved twenty times in a load is one
/// upsert. Whoever rolls back the records discards them
/// ([`Positions::discard`]).
#[derive(Debug, Default)]
pub(crate) struct Positions(RefCell<BTreeMap<PositionKey, (i64, i64)>>);

/// A position's key: lot id, holder, owner; its value is (mass, REO) in grams.
type PositionKey = (i64, Uscc, Uscc);

impl Positions {
    fn add(&self, lot: i64, m: &Movement) {
        let mut pending = self.0.borrow_mut();
        let sums = pending
            .entry((lot, m.holder.clone(), m.owner.clone()))
            .or_default();
        sums.0 += m.mass;
        sums.1 += m.reo;
    }

    /// How many positions are waiting.
    pub(crate) fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Writes the summed changes to `position`, in key order, and forgets them.
    ///
    /// # Errors
    /// When SQLite fails; the caller rolls back.
    pub(crate) fn flush(&self, conn: &Connection) -> DbResult<()> {
        let pending = std::mem::take(&mut *self.0.borrow_mut());
        let mut upsert = conn.prepare_cached(
            "INSERT INTO position (lot, holder, owner, mass, reo) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (lot, holder, owner) DO UPDATE SET mass = mass + excluded.mass, reo = reo + excluded.reo",
        )?;
        for ((lot, holder, owner), (mass, reo)) in pending {
            upsert.execute(params![lot, holder.as_str(), owner.as_str(), mass, reo])?;
        }
        Ok(())
    }

    /// Forgets the changes of records that were rolled back.
    pub(crate) fn discard(&self) {
        self.0.borrow_mut().clear();
    }
}

/// Validates, sequences and projects records on one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sequencer<'a> {
    pub conn: &'a Connection,
    pub cache: &'a ViewCache,
    pub positions: &'a Positions,
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
        };
        let effects = match self.projector.project(index, now.at, record, &view) {
            Ok(effects) => effects,
            Err(ProjectError::Refused(refusal)) => return Err(SequenceError::Refused(refusal)),
            Err(ProjectError::State(e)) => return Err(SequenceError::Failed(e)),
        };
        let (entry, opening) = build_entry(self.secret, index, record, &now.text)?;
        let bytes = entry.encode();
        let leaf = leaf_hash(&bytes);
        self.conn
            .prepare_cached("INSERT INTO ledger (idx, record_time, kind, enterprise, entry, leaf, salt, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
            .execute(params![
                codec::sql_index(index),
                now.text,
                entry.kind(),
                record.enterprise().as_str(),
                bytes,
                &leaf.0[..],
                &opening.salt[..],
                opening.value
            ])?;
        apply(view, self.positions, index, record, &effects)?;
        Ok(Sequenced { entry: bytes, leaf })
    }
}

/// The `lot.id` of a lot the projector has read or this record created.
fn key_of(view: &TableView<'_>, lot: &LotId) -> DbResult<i64> {
    view.lot_key(lot)?
        .ok_or_else(|| DbError::corrupt("lot", format!("{lot} has no row")))
}

/// Applies a record's effects to the projections, and to the cache of what
/// the projector reads.
fn apply(
    view: TableView<'_>,
    positions: &Positions,
    index: u64,
    record: &Record,
    effects: &Effects,
) -> DbResult<()> {
    let (conn, cache) = (view.conn, view.cache);
    let at = codec::sql_index(index);
    for change in &effects.registry {
        registry(conn, change)?;
        cache.register_changed();
    }
    for lot in &effects.lots {
        write_lot(
            conn,
            lot,
            "INSERT INTO lot (code, product, measurement, distribution, feed_origin, producer, facility, created_by, created_at_ms, reo, elements) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        cache.put_lot(&lot.lot, Some(lot));
        cache.put_lot_key(&lot.lot, conn.last_insert_rowid());
        cache.created(&lot.lot);
    }
    for lot in &effects.lot_revisions {
        cache.put_lot(&lot.lot, Some(lot));
        write_lot(
            conn,
            lot,
            "UPDATE lot SET product = ?2, measurement = ?3, distribution = ?4, feed_origin = ?5, producer = ?6, facility = ?7, created_by = ?8, created_at_ms = ?9, reo = ?10, elements = ?11 WHERE code = ?1",
        )?;
    }
    {
        let mut insert = conn.prepare_cached(
            "INSERT INTO movement (entry, n, lot, holder, owner, mass, reo, event_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (n, m) in effects.movements.iter().enumerate() {
            let lot = key_of(&view, &m.lot)?;
            insert.execute(params![
                at,
                n,
                lot,
                m.holder.as_str(),
                m.owner.as_str(),
                m.mass,
                m.reo,
                m.event_ms
            ])?;
            positions.add(lot, m);
            cache.moved(m);
        }
    }
    if !effects.edges.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO lineage_edge (entry, n, from_lot, to_lot, mass, reo) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (n, e) in effects.edges.iter().enumerate() {
            insert.execute(params![
                at,
                n,
                key_of(&view, &e.from)?,
                key_of(&view, &e.to)?,
                codec::grams(e.mass),
                codec::grams(e.reo)
            ])?;
        }
    }
    if !effects.members.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO pool_member (entry, n, facility, month, process, lot, role, mass, reo, elements) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for (n, m) in effects.members.iter().enumerate() {
            let elements = m.elements.as_ref().map(codec::json).transpose()?;
            insert.execute(params![
                at,
                n,
                m.facility.as_str(),
                m.month,
                codec::token(&m.process)?,
                key_of(&view, &m.lot)?,
                codec::token(&m.role)?,
                codec::grams(m.mass),
                codec::grams(m.reo),
                elements
            ])?;
        }
    }
    for (key, delta) in &effects.process_months {
        use retrace_domain::project::StateView as _;
        let mut totals = view.process_month(key)?;
        totals.add(delta, 1);
        cache.put_process_month(key, &totals);
        conn.prepare_cached(
            "INSERT INTO process_month (facility, process, month, in_reo, out_reo, in_known, out_known, in_elements, out_elements, in_ionic, transforms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (facility, process, month) DO UPDATE SET in_reo = excluded.in_reo, out_reo = excluded.out_reo, \
             in_known = excluded.in_known, out_known = excluded.out_known, in_elements = excluded.in_elements, \
             out_elements = excluded.out_elements, in_ionic = excluded.in_ionic, transforms = excluded.transforms",
        )?
        .execute(params![
            key.facility.as_str(),
            codec::token(&key.process)?,
            key.month,
            totals.in_reo,
            totals.out_reo,
            totals.in_known,
            totals.out_known,
            codec::json(&totals.in_elements)?,
            codec::json(&totals.out_elements)?,
            totals.in_ionic,
            totals.transforms
        ])?;
    }
    for s in &effects.shipments {
        cache.put_shipment(&s.sender, &s.number, Some(s));
        let ship = s.ship.as_ref();
        let receive = s.receive.as_ref();
        let ship_lot = ship.map(|x| key_of(&view, &x.lot)).transpose()?;
        let receive_lot = receive.map(|x| key_of(&view, &x.lot)).transpose()?;
        conn.prepare_cached(
            "INSERT INTO shipment (sender, number, ship_entry, ship_lot, ship_receiver, ship_mass, ship_ms, \
             receive_entry, receive_lot, receive_receiver, receive_mass, receive_grade, receive_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (sender, number) DO UPDATE SET ship_entry = excluded.ship_entry, ship_lot = excluded.ship_lot, \
             ship_receiver = excluded.ship_receiver, ship_mass = excluded.ship_mass, ship_ms = excluded.ship_ms, \
             receive_entry = excluded.receive_entry, receive_lot = excluded.receive_lot, \
             receive_receiver = excluded.receive_receiver, receive_mass = excluded.receive_mass, \
             receive_grade = excluded.receive_grade, receive_ms = excluded.receive_ms",
        )?
        .execute(params![
            s.sender.as_str(),
            s.number,
            ship.map(|x| codec::sql_index(x.entry)),
            ship_lot,
            ship.map(|x| x.receiver.as_str()),
            ship.map(|x| codec::grams(x.mass)),
            ship.map(|x| x.event_ms),
            receive.map(|x| codec::sql_index(x.entry)),
            receive_lot,
            receive.map(|x| x.receiver.as_str()),
            receive.map(|x| codec::grams(x.mass)),
            receive.and_then(|x| x.grade).map(|g| i64::from(g.ppm())),
            receive.map(|x| x.event_ms)
        ])?;
    }
    if let Some(corrected) = effects.corrects {
        conn.prepare_cached("INSERT INTO entry_status (idx, corrected_by) VALUES (?1, ?2)")?
            .execute(params![codec::sql_index(corrected), at])?;
    }
    for change in &effects.flags {
        match change {
            FlagChange::Raise(f) => {
                cache.put_flag(&f.key, Some(f));
                conn.prepare_cached(
                    "INSERT INTO flag (key, rule, enterprise, facility, lot, month, entries, detail, occurrences) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ON CONFLICT (key) DO UPDATE SET rule = excluded.rule, enterprise = excluded.enterprise, facility = excluded.facility, \
                     lot = excluded.lot, month = excluded.month, entries = excluded.entries, detail = excluded.detail, \
                     occurrences = excluded.occurrences",
                )?
                .execute(params![
                    f.key,
                    codec::token(&f.rule)?,
                    f.enterprise.as_str(),
                    f.facility.as_ref().map(|x| x.as_str()),
                    f.lot.as_ref().map(LotId::as_str),
                    f.month,
                    codec::json(&f.entries)?,
                    f.detail,
                    codec::sql_index(f.occurrences)
                ])?;
            }
            FlagChange::Clear(key) => {
                cache.put_flag(key, None);
                conn.prepare_cached("DELETE FROM flag WHERE key = ?1")?
                    .execute([key])?;
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
        .map(|lot| key_of(&view, lot))
        .collect::<DbResult<Vec<i64>>>()?;
    keys.sort_unstable();
    keys.dedup();
    let mut insert = conn.prepare_cached("INSERT INTO entry_lot (lot, idx) VALUES (?1, ?2)")?;
    for key in keys {
        insert.execute(params![key, at])?;
    }
    Ok(())
}

fn write_lot(conn: &Connection, lot: &LotState, sql: &str) -> DbResult<()> {
    conn.prepare_cached(sql)?.execute(params![
        lot.lot.as_str(),
        lot.product.as_str(),
        codec::json(&lot.measurement)?,
        lot.distribution.as_ref().map(codec::json).transpose()?,
        codec::token(&lot.feed_origin)?,
        lot.producer.as_str(),
        lot.facility.as_ref().map(|f| f.as_str()),
        codec::sql_index(lot.created_by),
        lot.created_at_ms,
        codec::grams(lot.reo),
        lot.elements.as_ref().map(codec::json).transpose()?
    ])?;
    Ok(())
}

fn registry(conn: &Connection, change: &RegistryChange) -> DbResult<()> {
    match change {
        RegistryChange::Enterprise(e) => {
            conn.prepare_cached(
                "INSERT INTO enterprise (uscc, grp, seat, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (uscc) DO UPDATE SET grp = excluded.grp, seat = excluded.seat, body = excluded.body",
            )?
            .execute(params![e.uscc.as_str(), e.group.as_ref().map(codec::token).transpose()?, e.seat.as_str(), codec::json(e)?])?;
            places(conn, &e.uscc)
        }
        RegistryChange::Facility(f) => {
            conn.prepare_cached(
                "INSERT INTO facility (id, operator, region, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET operator = excluded.operator, region = excluded.region, body = excluded.body",
            )?
            .execute(params![f.id.as_str(), f.operator.as_str(), f.region.as_str(), codec::json(f)?])?;
            places(conn, &f.operator)
        }
        RegistryChange::Designation(d) => {
            conn.prepare_cached(
                "INSERT INTO designation (enterprise, category, valid_from, valid_to, document) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (enterprise, category, valid_from) DO UPDATE SET valid_to = excluded.valid_to, document = excluded.document",
            )?
            .execute(params![
                d.enterprise.as_str(),
                codec::token(&d.category)?,
                codec::date_text(d.valid_from)?,
                codec::date_text(d.valid_to)?,
                d.document
            ])?;
            Ok(())
        }
        RegistryChange::Revocation {
            enterprise,
            category,
            last_day,
        } => {
            let last_day = codec::date_text(*last_day)?;
            conn.prepare_cached("UPDATE designation SET valid_to = ?3 WHERE enterprise = ?1 AND category = ?2 AND valid_to > ?3")?
                .execute(params![enterprise.as_str(), codec::token(category)?, last_day])?;
            Ok(())
        }
    }
}

/// Rewrites where an enterprise is: its seat and every facility region
/// (DESIGN.md §2, "a regulator supervises an enterprise whose seat, or any of
/// whose facilities, lies in its region").
fn places(conn: &Connection, uscc: &Uscc) -> DbResult<()> {
    conn.prepare_cached("DELETE FROM enterprise_place WHERE uscc = ?1")?
        .execute([uscc.as_str()])?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO enterprise_place (uscc, region) \
         SELECT uscc, seat FROM enterprise WHERE uscc = ?1 UNION SELECT operator, region FROM facility WHERE operator = ?1",
    )?
    .execute([uscc.as_str()])?;
    Ok(())
}

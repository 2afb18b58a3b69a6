//! Rows written behind: what the records of a request add to the ledger and
//! the projections waits here, in memory, until the request ends, and is
//! then written table by table through binary COPY or one multi-row upsert
//! each ([`Pending::flush`]) — a dozen statements for a request of twenty
//! thousand records, instead of a dozen for every record.
//!
//! The projector must see the effects of earlier records of the same batch
//! (DESIGN.md §3), so what is pending is also read from here: the view
//! ([`crate::view`]) answers every read from the pending rows first and from
//! the tables for the rest. Pending rows all come after every row in the
//! tables (they belong to later entries), so a history is the stored rows
//! followed by the pending ones. Whoever rolls the request back discards them.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use postgres::types::Type;
use retrace_domain::lot::LotId;
use retrace_domain::project::{
    Flag, LotState, Movement, PoolMember, ProcessMonth, ProcessMonthKey, Shipment,
};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;

use crate::codec;
use crate::connection::Conn;
use crate::error::DbResult;

/// A ledger row as written: index, month, record time, kind, enterprise,
/// entry bytes, leaf, salt, record.
#[derive(Debug)]
pub(crate) struct LedgerRow {
    pub idx: i64,
    pub month: String,
    pub record_time: String,
    pub kind: String,
    pub enterprise: String,
    pub entry: Vec<u8>,
    pub leaf: [u8; 32],
    pub salt: [u8; 16],
    pub record: Vec<u8>,
}

/// A shipment to store, with the `lot.id` of each side's lot.
#[derive(Debug)]
struct ShipmentRow {
    shipment: Shipment,
    ship_lot: Option<i64>,
    receive_lot: Option<i64>,
}

#[derive(Debug, Default)]
struct Rows {
    ledger: Vec<LedgerRow>,
    records: HashMap<u64, Record>,
    nodes: Vec<(i16, i64, [u8; 32])>,
    lots: Vec<(i64, LotState)>,
    lot_at: HashMap<LotId, usize>,
    /// Revised lots already in the table: rewritten at the flush.
    revised: BTreeMap<i64, LotState>,
    revised_at: HashMap<LotId, i64>,
    entry_lots: Vec<(i64, i64)>,
    movements: Vec<(i32, i64, Movement)>,
    histories: HashMap<(LotId, Uscc), Vec<Movement>>,
    entry_movements: HashMap<u64, Vec<Movement>>,
    edges: Vec<[i64; 6]>,
    members: Vec<(i32, i64, PoolMember)>,
    entry_members: HashMap<u64, Vec<PoolMember>>,
    positions: BTreeMap<(i64, Uscc, Uscc), (i64, i64)>,
    shipments: BTreeMap<(Uscc, String), ShipmentRow>,
    process_months: BTreeMap<ProcessMonthKey, ProcessMonth>,
    /// `None`: the flag is cleared.
    flags: BTreeMap<String, Option<Flag>>,
    statuses: BTreeMap<i64, i64>,
}

/// The pending rows of the request in progress; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Pending(RefCell<Rows>);

impl Pending {
    /// Forgets the rows of records that were rolled back.
    pub(crate) fn discard(&self) {
        *self.0.borrow_mut() = Rows::default();
    }

    pub(crate) fn ledger(&self, row: LedgerRow, record: &Record) {
        let mut r = self.0.borrow_mut();
        r.records
            .insert(u64::try_from(row.idx).unwrap_or(u64::MAX), record.clone());
        r.ledger.push(row);
    }

    pub(crate) fn record(&self, entry: u64) -> Option<Record> {
        self.0.borrow().records.get(&entry).cloned()
    }

    pub(crate) fn node(&self, level: u8, index: u64, hash: [u8; 32]) {
        self.0
            .borrow_mut()
            .nodes
            .push((i16::from(level), codec::sql_index(index), hash));
    }

    pub(crate) fn lot(&self, id: i64, lot: &LotState) {
        let mut r = self.0.borrow_mut();
        let at = r.lots.len();
        r.lots.push((id, lot.clone()));
        r.lot_at.insert(lot.lot.clone(), at);
    }

    /// A lot's revised state: replaces a pending row, or rewrites a stored one at the flush.
    pub(crate) fn revise(&self, id: i64, lot: &LotState) {
        let mut r = self.0.borrow_mut();
        if let Some(&at) = r.lot_at.get(&lot.lot) {
            r.lots[at].1 = lot.clone();
        } else {
            r.revised.insert(id, lot.clone());
            r.revised_at.insert(lot.lot.clone(), id);
        }
    }

    /// A pending lot's id and state: created or revised in this request.
    pub(crate) fn lot_state(&self, lot: &LotId) -> Option<(i64, LotState)> {
        let r = self.0.borrow();
        if let Some(&at) = r.lot_at.get(lot) {
            return Some(r.lots[at].clone());
        }
        let id = *r.revised_at.get(lot)?;
        r.revised.get(&id).map(|s| (id, s.clone()))
    }

    pub(crate) fn entry_lot(&self, lot: i64, idx: i64) {
        self.0.borrow_mut().entry_lots.push((lot, idx));
    }

    pub(crate) fn movement(&self, n: i32, lot: i64, m: &Movement) {
        let mut r = self.0.borrow_mut();
        r.histories
            .entry((m.lot.clone(), m.holder.clone()))
            .or_default()
            .push(m.clone());
        r.entry_movements
            .entry(m.entry)
            .or_default()
            .push(m.clone());
        let sums = r
            .positions
            .entry((lot, m.holder.clone(), m.owner.clone()))
            .or_default();
        sums.0 += m.mass;
        sums.1 += m.reo;
        r.movements.push((n, lot, m.clone()));
    }

    /// The pending movements of a lot at a holder, in ledger order.
    pub(crate) fn history(&self, lot: &LotId, holder: &Uscc) -> Vec<Movement> {
        self.0
            .borrow()
            .histories
            .get(&(lot.clone(), holder.clone()))
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn entry_movements(&self, entry: u64) -> Option<Vec<Movement>> {
        self.0.borrow().entry_movements.get(&entry).cloned()
    }

    pub(crate) fn edge(&self, row: [i64; 6]) {
        self.0.borrow_mut().edges.push(row);
    }

    pub(crate) fn member(&self, n: i32, lot: i64, m: &PoolMember) {
        let mut r = self.0.borrow_mut();
        r.entry_members.entry(m.entry).or_default().push(m.clone());
        r.members.push((n, lot, m.clone()));
    }

    pub(crate) fn entry_members(&self, entry: u64) -> Option<Vec<PoolMember>> {
        self.0.borrow().entry_members.get(&entry).cloned()
    }

    pub(crate) fn shipment(&self, s: &Shipment, ship_lot: Option<i64>, receive_lot: Option<i64>) {
        self.0.borrow_mut().shipments.insert(
            (s.sender.clone(), s.number.clone()),
            ShipmentRow {
                shipment: s.clone(),
                ship_lot,
                receive_lot,
            },
        );
    }

    pub(crate) fn stored_shipment(&self, sender: &Uscc, number: &str) -> Option<Shipment> {
        self.0
            .borrow()
            .shipments
            .get(&(sender.clone(), number.to_owned()))
            .map(|s| s.shipment.clone())
    }

    pub(crate) fn process_month(&self, key: &ProcessMonthKey, totals: &ProcessMonth) {
        self.0
            .borrow_mut()
            .process_months
            .insert(key.clone(), totals.clone());
    }

    pub(crate) fn stored_process_month(&self, key: &ProcessMonthKey) -> Option<ProcessMonth> {
        self.0.borrow().process_months.get(key).cloned()
    }

    pub(crate) fn flag(&self, key: &str, flag: Option<&Flag>) {
        self.0
            .borrow_mut()
            .flags
            .insert(key.to_owned(), flag.cloned());
    }

    /// `Some(None)`: cleared in this request.
    pub(crate) fn stored_flag(&self, key: &str) -> Option<Option<Flag>> {
        self.0.borrow().flags.get(key).cloned()
    }

    /// Every stored flag with the pending changes applied.
    pub(crate) fn overlay_flags(&self, stored: Vec<Flag>) -> Vec<Flag> {
        let r = self.0.borrow();
        let mut all: BTreeMap<String, Flag> =
            stored.into_iter().map(|f| (f.key.clone(), f)).collect();
        for (key, change) in &r.flags {
            match change {
                Some(f) => all.insert(key.clone(), f.clone()),
                None => all.remove(key),
            };
        }
        all.into_values().collect()
    }

    pub(crate) fn status(&self, corrected: i64, by: i64) {
        self.0.borrow_mut().statuses.insert(corrected, by);
    }

    pub(crate) fn corrected_by(&self, entry: u64) -> Option<i64> {
        self.0
            .borrow()
            .statuses
            .get(&codec::sql_index(entry))
            .copied()
    }

    /// Writes every pending row, table by table, and forgets them.
    ///
    /// # Errors
    /// When PostgreSQL fails; the caller rolls back.
    pub(crate) fn flush(&self, conn: &Conn) -> DbResult<()> {
        let rows = std::mem::take(&mut *self.0.borrow_mut());
        write_lots(conn, &rows.lots)?;
        conn.copy_in(
            "ledger",
            "idx, month, record_time, kind, enterprise, entry, salt, record",
            &[
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::BYTEA,
                Type::BYTEA,
                Type::BYTEA,
            ],
            &rows.ledger,
            |r, write| {
                write(&[
                    &r.idx,
                    &r.month,
                    &r.record_time,
                    &r.kind,
                    &r.enterprise,
                    &r.entry,
                    &&r.salt[..],
                    &r.record,
                ])
            },
        )?;
        conn.copy_in(
            "leaf",
            "idx, month, hash",
            &[Type::INT8, Type::TEXT, Type::BYTEA],
            &rows.ledger,
            |r, write| write(&[&r.idx, &r.month, &&r.leaf[..]]),
        )?;
        conn.copy_in(
            "tree_node",
            "level, idx, hash",
            &[Type::INT2, Type::INT8, Type::BYTEA],
            &rows.nodes,
            |(level, idx, hash), write| write(&[level, idx, &&hash[..]]),
        )?;
        conn.copy_in(
            "entry_lot",
            "lot, idx",
            &[Type::INT8, Type::INT8],
            &rows.entry_lots,
            |(lot, idx), write| write(&[lot, idx]),
        )?;
        conn.copy_in(
            "movement",
            "entry, n, lot, holder, owner, mass, reo, event_ms",
            &[
                Type::INT8,
                Type::INT4,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
                Type::INT8,
            ],
            &rows.movements,
            |(n, lot, m), write| {
                write(&[
                    &codec::sql_index(m.entry),
                    n,
                    lot,
                    &m.holder.as_str(),
                    &m.owner.as_str(),
                    &m.mass,
                    &m.reo,
                    &m.event_ms,
                ])
            },
        )?;
        conn.copy_in(
            "lineage_edge",
            "entry, n, from_lot, to_lot, mass, reo",
            &[
                Type::INT8,
                Type::INT4,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT8,
            ],
            &rows.edges,
            |[entry, n, from, to, mass, reo], write| {
                let n = i32::try_from(*n).unwrap_or(i32::MAX);
                write(&[entry, &n, from, to, mass, reo])
            },
        )?;
        write_members(conn, &rows.members)?;
        write_positions(conn, &rows.positions)?;
        write_shipments(conn, &rows.shipments)?;
        write_process_months(conn, &rows.process_months)?;
        write_flags(conn, &rows.flags)?;
        for (corrected, by) in &rows.statuses {
            conn.execute(
                "INSERT INTO entry_status (idx, corrected_by) VALUES ($1, $2)",
                &[corrected, by],
            )?;
        }
        for (id, lot) in &rows.revised {
            let l = LotColumns::of(lot)?;
            conn.execute(
                "UPDATE lot SET product = $2, measurement = $3, distribution = $4, feed_origin = $5, producer = $6, \
                 facility = $7, created_by = $8, created_at_ms = $9, reo = $10, elements = $11 WHERE id = $1",
                &[
                    id,
                    &l.product,
                    &l.measurement,
                    &l.distribution,
                    &l.feed_origin,
                    &l.producer,
                    &l.facility,
                    &l.created_by,
                    &l.created_at_ms,
                    &l.reo,
                    &l.elements,
                ],
            )?;
        }
        Ok(())
    }
}

/// A lot's columns as stored.
struct LotColumns {
    code: String,
    product: String,
    measurement: String,
    distribution: Option<String>,
    feed_origin: String,
    producer: String,
    facility: Option<String>,
    created_by: i64,
    created_at_ms: i64,
    reo: i64,
    elements: Option<String>,
}

impl LotColumns {
    fn of(lot: &LotState) -> DbResult<LotColumns> {
        Ok(LotColumns {
            code: lot.lot.as_str().to_owned(),
            product: lot.product.as_str().to_owned(),
            measurement: codec::json(&lot.measurement)?,
            distribution: lot.distribution.as_ref().map(codec::json).transpose()?,
            feed_origin: codec::token(&lot.feed_origin)?,
            producer: lot.producer.as_str().to_owned(),
            facility: lot.facility.as_ref().map(|f| f.as_str().to_owned()),
            created_by: codec::sql_index(lot.created_by),
            created_at_ms: lot.created_at_ms,
            reo: codec::grams(lot.reo),
            elements: lot.elements.as_ref().map(codec::json).transpose()?,
        })
    }
}

fn write_lots(conn: &Conn, lots: &[(i64, LotState)]) -> DbResult<()> {
    let columns = lots
        .iter()
        .map(|(id, lot)| Ok((*id, LotColumns::of(lot)?)))
        .collect::<DbResult<Vec<_>>>()?;
    conn.copy_in(
        "lot",
        "id, code, product, measurement, distribution, feed_origin, producer, facility, created_by, created_at_ms, reo, elements",
        &[
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
        ],
        &columns,
        |(id, l), write| {
            write(&[
                id,
                &l.code,
                &l.product,
                &l.measurement,
                &l.distribution,
                &l.feed_origin,
                &l.producer,
                &l.facility,
                &l.created_by,
                &l.created_at_ms,
                &l.reo,
                &l.elements,
            ])
        },
    )?;
    Ok(())
}

fn write_members(conn: &Conn, members: &[(i32, i64, PoolMember)]) -> DbResult<()> {
    let rows = members
        .iter()
        .map(|(n, lot, m)| {
            Ok((
                *n,
                *lot,
                m,
                codec::token(&m.process)?,
                codec::token(&m.role)?,
                m.elements.as_ref().map(codec::json).transpose()?,
            ))
        })
        .collect::<DbResult<Vec<_>>>()?;
    conn.copy_in(
        "pool_member",
        "entry, n, facility, month, process, lot, role, mass, reo, elements",
        &[
            Type::INT8,
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
        ],
        &rows,
        |(n, lot, m, process, role, elements), write| {
            write(&[
                &codec::sql_index(m.entry),
                n,
                &m.facility.as_str(),
                &m.month,
                process,
                lot,
                role,
                &codec::grams(m.mass),
                &codec::grams(m.reo),
                elements,
            ])
        },
    )?;
    Ok(())
}

/// Adds the summed stock changes to `position`, one upsert for all of them.
fn write_positions(
    conn: &Conn,
    positions: &BTreeMap<(i64, Uscc, Uscc), (i64, i64)>,
) -> DbResult<()> {
    if positions.is_empty() {
        return Ok(());
    }
    let (mut lots, mut holders, mut owners, mut masses, mut reos) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((lot, holder, owner), (mass, reo)) in positions {
        lots.push(*lot);
        holders.push(holder.as_str());
        owners.push(owner.as_str());
        masses.push(*mass);
        reos.push(*reo);
    }
    conn.execute(
        "INSERT INTO position (lot, holder, owner, mass, reo) \
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) \
         ON CONFLICT (lot, holder, owner) DO UPDATE SET mass = position.mass + excluded.mass, reo = position.reo + excluded.reo",
        &[&lots, &holders, &owners, &masses, &reos],
    )?;
    Ok(())
}

/// The columns of `shipment`, one array each, for one multi-row upsert.
#[derive(Default)]
struct ShipmentColumns<'a> {
    sender: Vec<&'a str>,
    number: Vec<&'a str>,
    ship_entry: Vec<Option<i64>>,
    ship_lot: Vec<Option<i64>>,
    ship_receiver: Vec<Option<&'a str>>,
    ship_mass: Vec<Option<i64>>,
    ship_ms: Vec<Option<i64>>,
    receive_entry: Vec<Option<i64>>,
    receive_lot: Vec<Option<i64>>,
    receive_receiver: Vec<Option<&'a str>>,
    receive_mass: Vec<Option<i64>>,
    receive_grade: Vec<Option<i64>>,
    receive_ms: Vec<Option<i64>>,
}

fn write_shipments(conn: &Conn, shipments: &BTreeMap<(Uscc, String), ShipmentRow>) -> DbResult<()> {
    if shipments.is_empty() {
        return Ok(());
    }
    let mut c = ShipmentColumns::default();
    for row in shipments.values() {
        let s = &row.shipment;
        let ship = s.ship.as_ref();
        let receive = s.receive.as_ref();
        c.sender.push(s.sender.as_str());
        c.number.push(&s.number);
        c.ship_entry.push(ship.map(|x| codec::sql_index(x.entry)));
        c.ship_lot.push(row.ship_lot);
        c.ship_receiver.push(ship.map(|x| x.receiver.as_str()));
        c.ship_mass.push(ship.map(|x| codec::grams(x.mass)));
        c.ship_ms.push(ship.map(|x| x.event_ms));
        c.receive_entry
            .push(receive.map(|x| codec::sql_index(x.entry)));
        c.receive_lot.push(row.receive_lot);
        c.receive_receiver
            .push(receive.map(|x| x.receiver.as_str()));
        c.receive_mass.push(receive.map(|x| codec::grams(x.mass)));
        c.receive_grade
            .push(receive.and_then(|x| x.grade).map(|g| i64::from(g.ppm())));
        c.receive_ms.push(receive.map(|x| x.event_ms));
    }
    conn.execute(
        "INSERT INTO shipment (sender, number, ship_entry, ship_lot, ship_receiver, ship_mass, ship_ms, \
         receive_entry, receive_lot, receive_receiver, receive_mass, receive_grade, receive_ms) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[], \
         $8::bigint[], $9::bigint[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[]) \
         ON CONFLICT (sender, number) DO UPDATE SET ship_entry = excluded.ship_entry, ship_lot = excluded.ship_lot, \
         ship_receiver = excluded.ship_receiver, ship_mass = excluded.ship_mass, ship_ms = excluded.ship_ms, \
         receive_entry = excluded.receive_entry, receive_lot = excluded.receive_lot, \
         receive_receiver = excluded.receive_receiver, receive_mass = excluded.receive_mass, \
         receive_grade = excluded.receive_grade, receive_ms = excluded.receive_ms",
        &[
            &c.sender,
            &c.number,
            &c.ship_entry,
            &c.ship_lot,
            &c.ship_receiver,
            &c.ship_mass,
            &c.ship_ms,
            &c.receive_entry,
            &c.receive_lot,
            &c.receive_receiver,
            &c.receive_mass,
            &c.receive_grade,
            &c.receive_ms,
        ],
    )?;
    Ok(())
}

fn write_process_months(
    conn: &Conn,
    months: &BTreeMap<ProcessMonthKey, ProcessMonth>,
) -> DbResult<()> {
    if months.is_empty() {
        return Ok(());
    }
    let mut keys: (Vec<&str>, Vec<String>, Vec<&str>) = Default::default();
    let mut sums: [Vec<i64>; 6] = Default::default();
    let mut elements: (Vec<String>, Vec<String>) = Default::default();
    for (key, t) in months {
        keys.0.push(key.facility.as_str());
        keys.1.push(codec::token(&key.process)?);
        keys.2.push(&key.month);
        for (column, value) in sums.iter_mut().zip([
            t.in_reo,
            t.out_reo,
            t.in_known,
            t.out_known,
            t.in_ionic,
            t.transforms,
        ]) {
            column.push(value);
        }
        elements.0.push(codec::json(&t.in_elements)?);
        elements.1.push(codec::json(&t.out_elements)?);
    }
    conn.execute(
        "INSERT INTO process_month (facility, process, month, in_reo, out_reo, in_known, out_known, in_ionic, transforms, in_elements, out_elements) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[]) \
         ON CONFLICT (facility, process, month) DO UPDATE SET in_reo = excluded.in_reo, out_reo = excluded.out_reo, \
         in_known = excluded.in_known, out_known = excluded.out_known, in_elements = excluded.in_elements, \
         out_elements = excluded.out_elements, in_ionic = excluded.in_ionic, transforms = excluded.transforms",
        &[
            &keys.0, &keys.1, &keys.2, &sums[0], &sums[1], &sums[2], &sums[3], &sums[4], &sums[5],
            &elements.0, &elements.1,
        ],
    )?;
    Ok(())
}

fn write_flags(conn: &Conn, flags: &BTreeMap<String, Option<Flag>>) -> DbResult<()> {
    let cleared: Vec<&str> = flags
        .iter()
        .filter(|(_, f)| f.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    if !cleared.is_empty() {
        conn.execute("DELETE FROM flag WHERE key = ANY($1)", &[&cleared])?;
    }
    let raised: Vec<&Flag> = flags.values().flatten().collect();
    if raised.is_empty() {
        return Ok(());
    }
    let mut text: [Vec<Option<String>>; 8] = Default::default();
    let mut occurrences = Vec::with_capacity(raised.len());
    for f in raised {
        let values = [
            Some(f.key.clone()),
            Some(codec::token(&f.rule)?),
            Some(f.enterprise.as_str().to_owned()),
            f.facility.as_ref().map(|x| x.as_str().to_owned()),
            f.lot.as_ref().map(|x| x.as_str().to_owned()),
            Some(f.month.clone()),
            Some(codec::json(&f.entries)?),
            Some(f.detail.clone()),
        ];
        for (column, value) in text.iter_mut().zip(values) {
            column.push(value);
        }
        occurrences.push(codec::sql_index(f.occurrences));
    }
    conn.execute(
        "INSERT INTO flag (key, rule, enterprise, facility, lot, month, entries, detail, occurrences) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[]) \
         ON CONFLICT (key) DO UPDATE SET rule = excluded.rule, enterprise = excluded.enterprise, facility = excluded.facility, \
         lot = excluded.lot, month = excluded.month, entries = excluded.entries, detail = excluded.detail, \
         occurrences = excluded.occurrences",
        &[
            &text[0], &text[1], &text[2], &text[3], &text[4], &text[5], &text[6], &text[7],
            &occurrences,
        ],
    )?;
    Ok(())
}

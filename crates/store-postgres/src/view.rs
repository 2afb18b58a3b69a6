//! The projector's view of the state (`retrace_domain::project::StateView`),
//! read through the connection that is writing: later records of a batch see
//! the effects of earlier ones, as DESIGN.md §3 "validate → sequence →
//! project" requires — the rows of the request still pending first
//! ([`crate::pending`]), then the tables. What was read once is answered
//! from the writer's [`ViewCache`].

use postgres::Row;
use retrace_domain::enterprise::{Designation, Enterprise};
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::flow::FlowEvent;
use retrace_domain::lot::LotId;
use retrace_domain::project::{
    Flag, LotState, Movement, PoolMember, ProcessMonth, ProcessMonthKey, Shipment, StateView,
};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_store::cache::ViewCache;
use retrace_store::entry::parse_record;

use crate::codec::{
    self, LOT_COLUMNS, MEMBER_COLUMNS, MOVEMENT_COLUMNS, PROCESS_MONTH_COLUMNS, SHIPMENT_COLUMNS,
};
use crate::connection::{Conn, Param};
use crate::error::DbResult;
use crate::pending::Pending;

/// [`StateView`] over one connection's tables and the pending rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableView<'c> {
    pub conn: &'c Conn,
    pub cache: &'c ViewCache,
    pub pending: &'c Pending,
}

fn collect<T>(
    conn: &Conn,
    sql: &str,
    params: &[Param<'_>],
    read: impl Fn(&Row) -> DbResult<T>,
) -> DbResult<Vec<T>> {
    conn.query(sql, params)?.iter().map(read).collect()
}

impl TableView<'_> {
    /// The `lot.id` of lot `id`, if it was recorded.
    pub(crate) fn lot_key(&self, id: &LotId) -> DbResult<Option<i64>> {
        if let Some(hit) = self.cache.lot_key(id) {
            return Ok(Some(hit));
        }
        if let Some((key, _)) = self.pending.lot_state(id) {
            return Ok(Some(key));
        }
        let key: Option<i64> = self
            .conn
            .query_opt("SELECT id FROM lot WHERE code = $1", &[&id.as_str()])?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(key) = key {
            self.cache.put_lot_key(id, key);
        }
        Ok(key)
    }
}

/// The record stored at ledger `index`, from its `record` opening.
pub(crate) fn stored_record(conn: &Conn, index: u64) -> DbResult<Option<Record>> {
    let idx = codec::sql_index(index);
    let value: Option<Vec<u8>> = conn
        .query_opt(
            "SELECT record FROM ledger WHERE idx = $1 AND month = (SELECT month FROM leaf WHERE idx = $1)",
            &[&idx],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(value.map(|v| parse_record(&v)).transpose()?)
}

impl StateView for TableView<'_> {
    type Error = crate::error::DbError;

    fn enterprise(&self, uscc: &Uscc) -> DbResult<Option<Enterprise>> {
        if let Some(hit) = self.cache.enterprise(uscc) {
            return Ok(Some(hit));
        }
        let body: Option<String> = self
            .conn
            .query_opt(
                "SELECT body FROM enterprise WHERE uscc = $1",
                &[&uscc.as_str()],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        let found: Option<Enterprise> = body
            .map(|b| codec::from_json("enterprise", &b))
            .transpose()?;
        if let Some(e) = &found {
            self.cache.put_enterprise(e);
        }
        Ok(found)
    }

    fn facility(&self, id: &FacilityId) -> DbResult<Option<Facility>> {
        if let Some(hit) = self.cache.facility(id) {
            return Ok(Some(hit));
        }
        let body: Option<String> = self
            .conn
            .query_opt("SELECT body FROM facility WHERE id = $1", &[&id.as_str()])?
            .map(|r| r.try_get(0))
            .transpose()?;
        let found: Option<Facility> = body.map(|b| codec::from_json("facility", &b)).transpose()?;
        if let Some(f) = &found {
            self.cache.put_facility(f);
        }
        Ok(found)
    }

    fn designations(&self, uscc: &Uscc) -> DbResult<Vec<Designation>> {
        if let Some(hit) = self.cache.designations(uscc) {
            return Ok(hit);
        }
        let held = collect(
            self.conn,
            "SELECT category, valid_from, valid_to, document FROM designation WHERE enterprise = $1 ORDER BY category, valid_from",
            &[&uscc.as_str()],
            |r| {
                Ok(Designation {
                    enterprise: uscc.clone(),
                    category: codec::from_token("category", r.try_get(0)?)?,
                    valid_from: codec::parse_date(r.try_get(1)?)?,
                    valid_to: codec::parse_date(r.try_get(2)?)?,
                    document: r.try_get(3)?,
                })
            },
        )?;
        self.cache.put_designations(uscc, &held);
        Ok(held)
    }

    fn lot(&self, id: &LotId) -> DbResult<Option<LotState>> {
        if let Some(hit) = self.cache.lot(id) {
            return Ok(hit);
        }
        let found = match self.pending.lot_state(id) {
            Some(pending) => Some(pending),
            None => lot_row(self.conn, id.as_str())?,
        };
        if let Some((key, _)) = &found {
            self.cache.put_lot_key(id, *key);
        }
        let state = found.map(|(_, state)| state);
        self.cache.put_lot(id, state.as_ref());
        Ok(state)
    }

    fn position(&self, lot: &LotId, holder: &Uscc) -> DbResult<Vec<Movement>> {
        if let Some(hit) = self.cache.history(lot, holder) {
            return Ok(hit);
        }
        let Some(key) = self.lot_key(lot)? else {
            return Ok(Vec::new());
        };
        let mut history = collect(
            self.conn,
            &format!(
                "SELECT {MOVEMENT_COLUMNS} FROM entry_lot el JOIN movement m ON m.entry = el.idx JOIN lot l ON l.id = m.lot \
                 WHERE el.lot = $1 AND m.lot = $1 AND m.holder = $2 ORDER BY m.entry, m.n"
            ),
            &[&key, &holder.as_str()],
            codec::movement,
        )?;
        history.extend(self.pending.history(lot, holder));
        self.cache.put_history(lot, holder, &history);
        Ok(history)
    }

    fn shipment(&self, sender: &Uscc, number: &str) -> DbResult<Option<Shipment>> {
        if let Some(hit) = self.cache.shipment(sender, number) {
            return Ok(hit);
        }
        if let Some(pending) = self.pending.stored_shipment(sender, number) {
            return Ok(Some(pending));
        }
        self.conn
            .query_opt(
                &format!(
                    "SELECT {SHIPMENT_COLUMNS} FROM shipment s \
                     LEFT JOIN lot sl ON sl.id = s.ship_lot LEFT JOIN lot rl ON rl.id = s.receive_lot \
                     WHERE s.sender = $1 AND s.number = $2"
                ),
                &[&sender.as_str(), &number],
            )?
            .map(|r| codec::shipment(sender, number, &r))
            .transpose()
    }

    fn process_month(&self, key: &ProcessMonthKey) -> DbResult<ProcessMonth> {
        if let Some(hit) = self.cache.process_month(key) {
            return Ok(hit);
        }
        if let Some(pending) = self.pending.stored_process_month(key) {
            return Ok(pending);
        }
        let process = codec::token(&key.process)?;
        Ok(self
            .conn
            .query_opt(
                &format!(
                    "SELECT {PROCESS_MONTH_COLUMNS} FROM process_month WHERE facility = $1 AND process = $2 AND month = $3"
                ),
                &[&key.facility.as_str(), &process, &key.month],
            )?
            .map(|r| codec::process_month(&r))
            .transpose()?
            .unwrap_or_default())
    }

    fn flag(&self, key: &str) -> DbResult<Option<Flag>> {
        if let Some(hit) = self.cache.flag(key) {
            return Ok(hit);
        }
        if self.cache.wants_all_flags() {
            let all = all_flags(self.conn)?.map(|stored| self.pending.overlay_flags(stored));
            self.cache.put_all_flags(all);
            if let Some(hit) = self.cache.flag(key) {
                return Ok(hit);
            }
        }
        if let Some(pending) = self.pending.stored_flag(key) {
            return Ok(pending);
        }
        let flag = self
            .conn
            .query_opt(
                &format!("SELECT {} FROM flag WHERE key = $1", codec::FLAG_COLUMNS),
                &[&key],
            )?
            .map(|r| codec::flag(&r))
            .transpose()?;
        self.cache.put_flag(key, flag.as_ref());
        Ok(flag)
    }

    fn flow(&self, entry: u64) -> DbResult<Option<(FlowEvent, Option<u64>)>> {
        let record = match self.pending.record(entry) {
            Some(r) => Some(r),
            None => stored_record(self.conn, entry)?,
        };
        let Some(Record::Flow(flow)) = record else {
            return Ok(None);
        };
        let corrected_by: Option<i64> = match self.pending.corrected_by(entry) {
            Some(by) => Some(by),
            None => self
                .conn
                .query_opt(
                    "SELECT corrected_by FROM entry_status WHERE idx = $1",
                    &[&codec::sql_index(entry)],
                )?
                .map(|r| r.try_get(0))
                .transpose()?,
        };
        Ok(Some((
            flow,
            corrected_by
                .map(|c| codec::index("corrected_by", c))
                .transpose()?,
        )))
    }

    fn entry_movements(&self, entry: u64) -> DbResult<Vec<Movement>> {
        if let Some(pending) = self.pending.entry_movements(entry) {
            return Ok(pending);
        }
        collect(
            self.conn,
            &format!(
                "SELECT {MOVEMENT_COLUMNS} FROM movement m JOIN lot l ON l.id = m.lot WHERE m.entry = $1 ORDER BY m.n"
            ),
            &[&codec::sql_index(entry)],
            codec::movement,
        )
    }

    fn entry_members(&self, entry: u64) -> DbResult<Vec<PoolMember>> {
        if let Some(pending) = self.pending.entry_members(entry) {
            return Ok(pending);
        }
        collect(
            self.conn,
            &format!(
                "SELECT {MEMBER_COLUMNS} FROM pool_member p JOIN lot l ON l.id = p.lot WHERE p.entry = $1 ORDER BY p.n"
            ),
            &[&codec::sql_index(entry)],
            codec::pool_member,
        )
    }
}

/// Flags the writer's cache holds all of rather than remembering, key by
/// key, that there is none: a few megabytes. Most stores raise far fewer.
const MAX_FLAGS_HELD: i64 = 20_000;

/// Every stored flag, or `None` when there are more than [`MAX_FLAGS_HELD`].
fn all_flags(conn: &Conn) -> DbResult<Option<Vec<Flag>>> {
    let count: i64 = conn
        .query_one("SELECT count(*) FROM flag", &[])?
        .try_get(0)?;
    if count > MAX_FLAGS_HELD {
        return Ok(None);
    }
    collect(
        conn,
        &format!("SELECT {} FROM flag", codec::FLAG_COLUMNS),
        &[],
        codec::flag,
    )
    .map(Some)
}

/// The state of the lot with code `id`, if it was recorded.
pub(crate) fn lot_state(conn: &Conn, id: &str) -> DbResult<Option<LotState>> {
    Ok(lot_row(conn, id)?.map(|(_, state)| state))
}

/// The `lot.id` and state of the lot with code `id`, if it was recorded.
fn lot_row(conn: &Conn, id: &str) -> DbResult<Option<(i64, LotState)>> {
    conn.query_opt(
        &format!("SELECT {LOT_COLUMNS} FROM lot WHERE code = $1"),
        &[&id],
    )?
    .map(|r| Ok((r.try_get(11)?, codec::lot_state(&r)?)))
    .transpose()
}

/// Reads at once, into the cache, the state the records of a request will
/// ask for one at a time: their lots (or that they do not exist yet), the
/// shipments they ship or receive under, and the stock history of their
/// lots. Each of these reads is one round trip to the server; a request of
/// twenty thousand records would otherwise make tens of thousands of them.
/// What is read is the tables' state before the request, which the cache
/// then keeps up to date as the records are applied, as it does for any read.
pub(crate) fn prefetch(view: &TableView<'_>, records: &[Record]) -> DbResult<()> {
    let (conn, cache) = (view.conn, view.cache);
    let mut codes: Vec<&str> = Vec::new();
    let mut senders: Vec<&str> = Vec::new();
    let mut numbers: Vec<&str> = Vec::new();
    let mut holders: Vec<(LotId, Uscc)> = Vec::new();
    for record in records {
        let Record::Flow(event) = record else {
            continue;
        };
        for lot in retrace_store::entry::record_lots(record) {
            if cache.lot(lot).is_none() {
                codes.push(lot.as_str());
            }
            if cache.history(lot, &event.enterprise).is_none() {
                holders.push((lot.clone(), event.enterprise.clone()));
            }
        }
        let shipment = match &event.flow {
            retrace_domain::flow::Flow::Ship(s) => Some((&event.enterprise, &s.shipment)),
            retrace_domain::flow::Flow::Receive(r) => Some((&r.from, &r.shipment)),
            _ => None,
        };
        if let Some((sender, number)) = shipment
            && cache.shipment(sender, number).is_none()
        {
            senders.push(sender.as_str());
            numbers.push(number.as_str());
        }
    }
    codes.sort_unstable();
    codes.dedup();
    if !codes.is_empty() {
        let mut found = std::collections::HashSet::new();
        for row in conn.query(
            &format!("SELECT {LOT_COLUMNS} FROM lot WHERE code = ANY($1)"),
            &[&codes],
        )? {
            let state = codec::lot_state(&row)?;
            cache.put_lot_key(&state.lot, row.try_get(11)?);
            cache.put_lot(&state.lot, Some(&state));
            found.insert(state.lot.as_str().to_owned());
        }
        for code in codes.iter().filter(|c| !found.contains(**c)) {
            cache.put_lot(&codec::lot_id(code)?, None);
        }
    }
    if !senders.is_empty() {
        let mut found = std::collections::HashSet::new();
        for row in conn.query(
            &format!(
                "SELECT {SHIPMENT_COLUMNS}, s.sender, s.number FROM shipment s \
                 LEFT JOIN lot sl ON sl.id = s.ship_lot LEFT JOIN lot rl ON rl.id = s.receive_lot \
                 WHERE (s.sender, s.number) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
            ),
            &[&senders, &numbers],
        )? {
            let sender = codec::uscc(row.try_get(11)?)?;
            let number: String = row.try_get(12)?;
            let shipment = codec::shipment(&sender, &number, &row)?;
            cache.put_shipment(&sender, &number, Some(&shipment));
            found.insert((sender, number));
        }
        for (sender, number) in senders.iter().zip(&numbers) {
            let sender = codec::uscc(sender)?;
            if !found.contains(&(sender.clone(), (*number).to_owned())) {
                cache.put_shipment(&sender, number, None);
            }
        }
    }
    let mut keys: Vec<i64> = Vec::new();
    for (lot, _) in &holders {
        if let Some(key) = cache.lot_key(lot) {
            keys.push(key);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    if !keys.is_empty() {
        let mut histories: std::collections::HashMap<(LotId, Uscc), Vec<Movement>> =
            std::collections::HashMap::new();
        for row in conn.query(
            &format!(
                "SELECT {MOVEMENT_COLUMNS} FROM entry_lot el JOIN movement m ON m.entry = el.idx AND m.lot = el.lot \
                 JOIN lot l ON l.id = m.lot WHERE el.lot = ANY($1) ORDER BY m.entry, m.n"
            ),
            &[&keys],
        )? {
            let m = codec::movement(&row)?;
            histories
                .entry((m.lot.clone(), m.holder.clone()))
                .or_default()
                .push(m);
        }
        for (lot, holder) in &holders {
            if cache.lot_key(lot).is_none() || cache.history(lot, holder).is_some() {
                continue;
            }
            let history = histories
                .get(&(lot.clone(), holder.clone()))
                .map_or(&[][..], Vec::as_slice);
            cache.put_history(lot, holder, history);
        }
        for ((lot, holder), history) in &histories {
            if cache.history(lot, holder).is_none() {
                cache.put_history(lot, holder, history);
            }
        }
    }
    Ok(())
}

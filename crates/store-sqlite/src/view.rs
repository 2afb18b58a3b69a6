//! The projector's view of the state (`retrace_domain::project::StateView`),
//! read through the connection that is writing: later records of a batch see
//! the effects of earlier ones, as DESIGN.md §3 "validate → sequence →
//! project" requires, and the audit's replay reads its scratch database the
//! same way. What was read once is answered from the writer's
//! [`ViewCache`].

use retrace_domain::enterprise::{Designation, Enterprise};
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::flow::FlowEvent;
use retrace_domain::lot::LotId;
use retrace_domain::project::{
    Flag, LotState, Movement, PoolMember, ProcessMonth, ProcessMonthKey, Shipment, StateView,
};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{
    self, LOT_COLUMNS, MEMBER_COLUMNS, MOVEMENT_COLUMNS, PROCESS_MONTH_COLUMNS, SHIPMENT_COLUMNS,
};
use crate::error::{DbError, DbResult};
use retrace_store::cache::ViewCache;

/// [`StateView`] over one connection's tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableView<'c> {
    pub conn: &'c Connection,
    pub cache: &'c ViewCache,
}

impl TableView<'_> {
    fn collect<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl Fn(&rusqlite::Row<'_>) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let mut st = self.conn.prepare_cached(sql)?;
        let mut rows = st.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read(row)?);
        }
        Ok(out)
    }
}

impl TableView<'_> {
    /// The `lot.id` of lot `id`, if it was recorded.
    pub(crate) fn lot_key(&self, id: &LotId) -> DbResult<Option<i64>> {
        if let Some(hit) = self.cache.lot_key(id) {
            return Ok(Some(hit));
        }
        let key: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM lot WHERE code = ?1")?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?;
        if let Some(key) = key {
            self.cache.put_lot_key(id, key);
        }
        Ok(key)
    }
}

/// The record stored at ledger `index`, from its `record` opening.
pub(crate) fn stored_record(conn: &Connection, index: u64) -> DbResult<Option<Record>> {
    let value: Option<Vec<u8>> = conn
        .prepare_cached("SELECT record FROM ledger WHERE idx = ?1")?
        .query_row([codec::sql_index(index)], |r| r.get(0))
        .optional()?;
    value
        .map(|v| serde_json::from_slice(&v).map_err(|e| DbError::corrupt("stored record", e)))
        .transpose()
}

impl StateView for TableView<'_> {
    type Error = DbError;

    fn enterprise(&self, uscc: &Uscc) -> DbResult<Option<Enterprise>> {
        if let Some(hit) = self.cache.enterprise(uscc) {
            return Ok(Some(hit));
        }
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM enterprise WHERE uscc = ?1")?
            .query_row([uscc.as_str()], |r| r.get(0))
            .optional()?;
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
            .prepare_cached("SELECT body FROM facility WHERE id = ?1")?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?;
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
        let held = self.collect(
            "SELECT category, valid_from, valid_to, document FROM designation WHERE enterprise = ?1 ORDER BY category, valid_from",
            [uscc.as_str()],
            |r| {
                Ok(Designation {
                    enterprise: uscc.clone(),
                    category: codec::from_token("category", &r.get::<_, String>(0)?)?,
                    valid_from: codec::parse_date(&r.get::<_, String>(1)?)?,
                    valid_to: codec::parse_date(&r.get::<_, String>(2)?)?,
                    document: r.get(3)?,
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
        let found = lot_row(self.conn, id.as_str())?;
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
        let history = self.collect(
            &format!(
                "SELECT {MOVEMENT_COLUMNS} FROM entry_lot el JOIN movement m ON m.entry = el.idx JOIN lot l ON l.id = m.lot \
                 WHERE el.lot = ?1 AND m.lot = ?1 AND m.holder = ?2 ORDER BY m.entry, m.n"
            ),
            params![key, holder.as_str()],
            codec::movement,
        )?;
        self.cache.put_history(lot, holder, &history);
        Ok(history)
    }

    fn shipment(&self, sender: &Uscc, number: &str) -> DbResult<Option<Shipment>> {
        if let Some(hit) = self.cache.shipment(sender, number) {
            return Ok(hit);
        }
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipment s \
             LEFT JOIN lot sl ON sl.id = s.ship_lot LEFT JOIN lot rl ON rl.id = s.receive_lot \
             WHERE s.sender = ?1 AND s.number = ?2"
        ))?;
        let mut rows = st.query([sender.as_str(), number])?;
        rows.next()?
            .map(|r| codec::shipment(sender, number, r))
            .transpose()
    }

    fn process_month(&self, key: &ProcessMonthKey) -> DbResult<ProcessMonth> {
        if let Some(hit) = self.cache.process_month(key) {
            return Ok(hit);
        }
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {PROCESS_MONTH_COLUMNS} FROM process_month WHERE facility = ?1 AND process = ?2 AND month = ?3"
        ))?;
        let process = codec::token(&key.process)?;
        let mut rows = st.query([key.facility.as_str(), process.as_str(), key.month.as_str()])?;
        Ok(rows
            .next()?
            .map(codec::process_month)
            .transpose()?
            .unwrap_or_default())
    }

    fn flag(&self, key: &str) -> DbResult<Option<Flag>> {
        if let Some(hit) = self.cache.flag(key) {
            return Ok(hit);
        }
        if self.cache.wants_all_flags() {
            self.cache.put_all_flags(all_flags(self.conn)?);
            if let Some(hit) = self.cache.flag(key) {
                return Ok(hit);
            }
        }
        let flag = self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM flag WHERE key = ?1",
                codec::FLAG_COLUMNS
            ))?
            .query_row([key], |r| Ok(codec::flag(r)))
            .optional()?
            .transpose()?;
        self.cache.put_flag(key, flag.as_ref());
        Ok(flag)
    }

    fn flow(&self, entry: u64) -> DbResult<Option<(FlowEvent, Option<u64>)>> {
        let Some(Record::Flow(flow)) = stored_record(self.conn, entry)? else {
            return Ok(None);
        };
        let corrected_by: Option<i64> = self
            .conn
            .prepare_cached("SELECT corrected_by FROM entry_status WHERE idx = ?1")?
            .query_row([codec::sql_index(entry)], |r| r.get(0))
            .optional()?;
        Ok(Some((
            flow,
            corrected_by
                .map(|c| codec::index("corrected_by", c))
                .transpose()?,
        )))
    }

    fn entry_movements(&self, entry: u64) -> DbResult<Vec<Movement>> {
        self.collect(
            &format!(
                "SELECT {MOVEMENT_COLUMNS} FROM movement m JOIN lot l ON l.id = m.lot WHERE m.entry = ?1 ORDER BY m.n"
            ),
            [codec::sql_index(entry)],
            codec::movement,
        )
    }

    fn entry_members(&self, entry: u64) -> DbResult<Vec<PoolMember>> {
        self.collect(
            &format!(
                "SELECT {MEMBER_COLUMNS} FROM pool_member p JOIN lot l ON l.id = p.lot WHERE p.entry = ?1 ORDER BY p.n"
            ),
            [codec::sql_index(entry)],
            codec::pool_member,
        )
    }
}

/// Flags the writer's cache holds all of rather than remembering, key by
/// key, that there is none: a few megabytes. Most stores raise far fewer.
const MAX_FLAGS_HELD: i64 = 20_000;

/// Every raised flag, or `None` when there are more than [`MAX_FLAGS_HELD`].
fn all_flags(conn: &Connection) -> DbResult<Option<Vec<Flag>>> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM flag")?
        .query_row([], |r| r.get(0))?;
    if count > MAX_FLAGS_HELD {
        return Ok(None);
    }
    let mut st = conn.prepare_cached(&format!("SELECT {} FROM flag", codec::FLAG_COLUMNS))?;
    let mut rows = st.query([])?;
    let mut flags = Vec::new();
    while let Some(row) = rows.next()? {
        flags.push(codec::flag(row)?);
    }
    Ok(Some(flags))
}

/// The state of the lot with code `id`, if it was recorded.
pub(crate) fn lot_state(conn: &Connection, id: &str) -> DbResult<Option<LotState>> {
    Ok(lot_row(conn, id)?.map(|(_, state)| state))
}

/// The `lot.id` and state of the lot with code `id`, if it was recorded.
fn lot_row(conn: &Connection, id: &str) -> DbResult<Option<(i64, LotState)>> {
    let mut st = conn.prepare_cached(&format!("SELECT {LOT_COLUMNS} FROM lot WHERE code = ?1"))?;
    let mut rows = st.query(params![id])?;
    rows.next()?
        .map(|r| Ok((r.get(11)?, codec::lot_state(r)?)))
        .transpose()
}

//! The primitive reads of the trace (`retrace_store::trace::TraceSource`)
//! over the projections. Entries declared wrong by a correction are left out,
//! so a trace follows only what stands.

use retrace_domain::attribution::PoolLot;
use retrace_domain::facility::Process;
use retrace_domain::flow::FlowKind;
use retrace_domain::lot::LotId;
use retrace_domain::measurement::Measurement;
use retrace_domain::project::{LineageEdge, PoolRole};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_store::Scope;
use retrace_store::trace::{
    Creation, Custody, PoolKey, TraceSource, custody_step, flow_kind, import_country,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use retrace_store::entry::parse_record;

use crate::codec;
use crate::error::{DbError, DbResult};
use crate::view::lot_state;
use crate::visibility;

/// Excludes rows of corrected entries; `{}` is the entry column.
fn standing(column: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM entry_status s WHERE s.idx = {column})")
}

/// [`TraceSource`] over one connection's tables, for a caller of `scope`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableTrace<'c> {
    pub conn: &'c Connection,
    pub scope: &'c Scope,
}

fn decode_record(value: &[u8]) -> DbResult<Record> {
    Ok(parse_record(value)?)
}

impl TableTrace<'_> {
    fn edges(&self, lot: &LotId, column: &str) -> DbResult<Vec<LineageEdge>> {
        let sql = format!(
            "SELECT e.entry, f.code, t.code, e.mass, e.reo FROM entry_lot el JOIN lineage_edge e ON e.entry = el.idx \
             JOIN lot f ON f.id = e.from_lot JOIN lot t ON t.id = e.to_lot \
             WHERE el.lot = (SELECT id FROM lot WHERE code = ?1) AND e.{column} = el.lot AND {} ORDER BY e.entry, e.n",
            standing("e.entry")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query([lot.as_str()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(LineageEdge {
                entry: codec::index("edge entry", r.get(0)?)?,
                from: codec::lot_id(&r.get::<_, String>(1)?)?,
                to: codec::lot_id(&r.get::<_, String>(2)?)?,
                mass: codec::mass("edge mass", r.get(3)?)?,
                reo: codec::mass("edge reo", r.get(4)?)?,
            });
        }
        Ok(out)
    }
}

fn pool_lot(r: &Row<'_>) -> DbResult<PoolLot> {
    let elements: Option<String> = r.get(4)?;
    Ok(PoolLot {
        entry: codec::index("pool entry", r.get(0)?)?,
        lot: codec::lot_id(&r.get::<_, String>(1)?)?,
        mass: codec::mass("pool mass", r.get(2)?)?,
        reo: codec::mass("pool reo", r.get(3)?)?,
        elements: elements
            .as_deref()
            .map(|e| codec::from_json("elements", e))
            .transpose()?,
    })
}

impl TraceSource for TableTrace<'_> {
    type Error = DbError;

    fn sees(&self, enterprise: &Uscc) -> DbResult<bool> {
        let visible = visibility::enterprise(self.scope, "x.u");
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM (SELECT ? AS u) x WHERE {})",
            visible.sql
        );
        let mut params = vec![Value::Text(enterprise.as_str().to_owned())];
        params.extend(visible.params);
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(params), |r| r.get(0))?)
    }

    fn recorded_by(&self, entry: u64) -> DbResult<Uscc> {
        let found: Option<String> = self
            .conn
            .prepare_cached("SELECT enterprise FROM ledger WHERE idx = ?1")?
            .query_row([codec::sql_index(entry)], |r| r.get(0))
            .optional()?;
        Ok(codec::uscc(&found.ok_or_else(|| {
            DbError::corrupt("trace", format!("entry {entry} is missing"))
        })?)?)
    }

    fn creation(&self, lot: &LotId) -> DbResult<Option<Creation>> {
        let Some(state) = lot_state(self.conn, lot.as_str())? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT g.kind, g.record FROM ledger g WHERE g.idx = ?1 AND {}",
            standing("g.idx")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query([codec::sql_index(state.created_by)])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let kind = flow_kind(&row.get::<_, String>(0)?)?;
        let country = match kind {
            FlowKind::Import => import_country(&decode_record(&row.get::<_, Vec<u8>>(1)?)?),
            _ => None,
        };
        let pool = self
            .conn
            .prepare_cached("SELECT facility, month, process FROM pool_member WHERE entry = ?1 AND lot = (SELECT id FROM lot WHERE code = ?2) AND role = 'output' LIMIT 1")?
            .query_map(params![codec::sql_index(state.created_by), lot.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
            .next()
            .transpose()?
            .map(|(facility, month, process)| -> DbResult<PoolKey> {
                Ok(PoolKey { facility: codec::facility_id(&facility)?, month, process: codec::from_token::<Process>("process", &process)? })
            })
            .transpose()?
            .filter(|key| key.process.pools_feed());
        let Measurement { wet_mass, .. } = state.measurement;
        Ok(Some(Creation {
            entry: state.created_by,
            kind,
            enterprise: state.producer,
            facility: state.facility,
            country,
            mass: wet_mass,
            reo: state.reo,
            pool,
        }))
    }

    fn edges_into(&self, lot: &LotId) -> DbResult<Vec<LineageEdge>> {
        self.edges(lot, "to_lot")
    }

    fn edges_out_of(&self, lot: &LotId) -> DbResult<Vec<LineageEdge>> {
        self.edges(lot, "from_lot")
    }

    fn pools_fed(&self, lot: &LotId) -> DbResult<Vec<PoolKey>> {
        let sql = format!(
            "SELECT DISTINCT p.facility, p.month, p.process FROM entry_lot el JOIN pool_member p ON p.entry = el.idx \
             WHERE el.lot = (SELECT id FROM lot WHERE code = ?1) AND p.lot = el.lot AND p.role = 'input' AND {} \
             ORDER BY p.facility, p.month, p.process",
            standing("p.entry")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query([lot.as_str()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(PoolKey {
                facility: codec::facility_id(&r.get::<_, String>(0)?)?,
                month: r.get(1)?,
                process: codec::from_token("process", &r.get::<_, String>(2)?)?,
            });
        }
        Ok(out)
    }

    fn pool(&self, key: &PoolKey) -> DbResult<(Vec<PoolLot>, Vec<PoolLot>)> {
        let sql = format!(
            "SELECT p.entry, l.code, p.mass, p.reo, p.elements, p.role FROM pool_member p JOIN lot l ON l.id = p.lot \
             WHERE p.facility = ?1 AND p.process = ?2 AND p.month = ?3 AND {} ORDER BY p.entry, p.n",
            standing("p.entry")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query(params![
            key.facility.as_str(),
            codec::token(&key.process)?,
            key.month
        ])?;
        let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
        while let Some(r) = rows.next()? {
            let member = pool_lot(r)?;
            match codec::from_token::<PoolRole>("role", &r.get::<_, String>(5)?)? {
                PoolRole::Input => inputs.push(member),
                PoolRole::Output => outputs.push(member),
            }
        }
        Ok((inputs, outputs))
    }

    fn custody(&self, lot: &LotId) -> DbResult<Vec<Custody>> {
        let Some(state) = lot_state(self.conn, lot.as_str())? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT g.idx, g.record FROM entry_lot el JOIN ledger g ON g.idx = el.idx \
             WHERE el.lot = (SELECT id FROM lot WHERE code = ?1) AND g.kind IN ('flow.ship', 'flow.receive', 'flow.transfer', 'flow.export') AND {} ORDER BY g.idx",
            standing("g.idx")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query([lot.as_str()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let entry = codec::index("custody entry", r.get(0)?)?;
            out.extend(custody_step(
                entry,
                decode_record(&r.get::<_, Vec<u8>>(1)?)?,
                &state,
            ));
        }
        Ok(out)
    }
}

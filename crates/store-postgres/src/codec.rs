//! PostgreSQL rows as `retrace_store::codec`'s [`StoredRow`]: the rows the
//! projector and the readers get back are decoded by the same code as
//! SQLite's, and every value is spelled the same way.

use postgres::Row;
use retrace_store::codec::rows;
pub(crate) use retrace_store::codec::*;

use crate::error::DbError;

/// A row of a PostgreSQL result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PgRow<'a>(pub &'a Row);

impl StoredRow for PgRow<'_> {
    type Error = DbError;

    fn int(&self, column: usize) -> Result<i64, DbError> {
        Ok(self.0.try_get(column)?)
    }

    fn opt_int(&self, column: usize) -> Result<Option<i64>, DbError> {
        Ok(self.0.try_get(column)?)
    }

    fn text(&self, column: usize) -> Result<String, DbError> {
        Ok(self.0.try_get(column)?)
    }

    fn opt_text(&self, column: usize) -> Result<Option<String>, DbError> {
        Ok(self.0.try_get(column)?)
    }
}

pub(crate) fn lot_state(row: &Row) -> Result<retrace_domain::project::LotState, DbError> {
    rows::lot_state(&PgRow(row))
}

pub(crate) fn movement(row: &Row) -> Result<retrace_domain::project::Movement, DbError> {
    rows::movement(&PgRow(row))
}

pub(crate) fn pool_member(row: &Row) -> Result<retrace_domain::project::PoolMember, DbError> {
    rows::pool_member(&PgRow(row))
}

pub(crate) fn flag(row: &Row) -> Result<retrace_domain::project::Flag, DbError> {
    rows::flag(&PgRow(row))
}

pub(crate) fn process_month(row: &Row) -> Result<retrace_domain::project::ProcessMonth, DbError> {
    rows::process_month(&PgRow(row))
}

pub(crate) fn shipment(
    sender: &retrace_domain::uscc::Uscc,
    number: &str,
    row: &Row,
) -> Result<retrace_domain::project::Shipment, DbError> {
    rows::shipment(sender, number, &PgRow(row))
}

//! SQLite rows as `retrace_store::codec`'s [`StoredRow`]: the rows the
//! projector and the readers get back are decoded by the same code as
//! PostgreSQL's, and every value is spelled the same way.

use retrace_store::codec::rows;
pub(crate) use retrace_store::codec::*;
use rusqlite::Row;

use crate::error::DbError;

/// A row of an SQLite result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqlRow<'a, 'r>(pub &'a Row<'r>);

impl StoredRow for SqlRow<'_, '_> {
    type Error = DbError;

    fn int(&self, column: usize) -> Result<i64, DbError> {
        Ok(self.0.get(column)?)
    }

    fn opt_int(&self, column: usize) -> Result<Option<i64>, DbError> {
        Ok(self.0.get(column)?)
    }

    fn text(&self, column: usize) -> Result<String, DbError> {
        Ok(self.0.get(column)?)
    }

    fn opt_text(&self, column: usize) -> Result<Option<String>, DbError> {
        Ok(self.0.get(column)?)
    }
}

pub(crate) fn lot_state(row: &Row<'_>) -> Result<retrace_domain::project::LotState, DbError> {
    rows::lot_state(&SqlRow(row))
}

pub(crate) fn movement(row: &Row<'_>) -> Result<retrace_domain::project::Movement, DbError> {
    rows::movement(&SqlRow(row))
}

pub(crate) fn pool_member(row: &Row<'_>) -> Result<retrace_domain::project::PoolMember, DbError> {
    rows::pool_member(&SqlRow(row))
}

pub(crate) fn flag(row: &Row<'_>) -> Result<retrace_domain::project::Flag, DbError> {
    rows::flag(&SqlRow(row))
}

pub(crate) fn process_month(
    row: &Row<'_>,
) -> Result<retrace_domain::project::ProcessMonth, DbError> {
    rows::process_month(&SqlRow(row))
}

pub(crate) fn shipment(
    sender: &retrace_domain::uscc::Uscc,
    number: &str,
    row: &Row<'_>,
) -> Result<retrace_domain::project::Shipment, DbError> {
    rows::shipment(sender, number, &SqlRow(row))
}

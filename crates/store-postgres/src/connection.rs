//! One connection, used through `&self` by the code that sequences, reads and
//! audits — the projector's [`StateView`](retrace_domain::project::StateView)
//! and the tree's `NodeReader` take `&self` — with every statement prepared
//! once per connection.
//!
//! The synchronous client drives its own small runtime inside each call, so
//! a connection is only ever used on a thread that is not running async
//! tasks: the sequencer's own thread, or one of tokio's blocking threads.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls, Row, Statement};

use crate::error::DbResult;

/// Statements a connection keeps prepared before it starts over: every
/// statement of the write path and the readers' variants fit many times.
const MAX_STATEMENTS: usize = 512;

/// A parameter of a statement.
pub(crate) type Param<'a> = &'a (dyn ToSql + Sync);

/// One PostgreSQL connection.
pub(crate) struct Conn {
    client: RefCell<Client>,
    statements: RefCell<HashMap<String, Statement>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").finish_non_exhaustive()
    }
}

impl Conn {
    /// Connects. Called only off the async runtime's worker threads.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the connection.
    pub(crate) fn connect(config: &Config) -> DbResult<Conn> {
        let client = config.connect(NoTls)?;
        Ok(Conn {
            client: RefCell::new(client),
            statements: RefCell::default(),
        })
    }

    /// Runs statements without parameters (transaction control, DDL).
    pub(crate) fn batch(&self, sql: &str) -> DbResult<()> {
        self.client.borrow_mut().batch_execute(sql)?;
        Ok(())
    }

    fn statement(&self, sql: &str) -> DbResult<Statement> {
        if let Some(st) = self.statements.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.borrow_mut().prepare(sql)?;
        let mut cached = self.statements.borrow_mut();
        if cached.len() >= MAX_STATEMENTS {
            cached.clear();
        }
        cached.insert(sql.to_owned(), st.clone());
        Ok(st)
    }

    pub(crate) fn query(&self, sql: &str, params: &[Param<'_>]) -> DbResult<Vec<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().query(&st, params)?)
    }

    pub(crate) fn query_opt(&self, sql: &str, params: &[Param<'_>]) -> DbResult<Option<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().query_opt(&st, params)?)
    }

    pub(crate) fn query_one(&self, sql: &str, params: &[Param<'_>]) -> DbResult<Row> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().query_one(&st, params)?)
    }

    pub(crate) fn execute(&self, sql: &str, params: &[Param<'_>]) -> DbResult<u64> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().execute(&st, params)?)
    }

    /// Writes rows through binary COPY (`COPY table (columns) FROM STDIN
    /// BINARY`): one round of the protocol for all of them, no statement per
    /// row, values sent in their binary form.
    pub(crate) fn copy_in<T>(
        &self,
        table: &str,
        columns: &str,
        types: &[Type],
        rows: &[T],
        values: impl Fn(&T, &mut dyn FnMut(&[Param<'_>]) -> DbResult<()>) -> DbResult<()>,
    ) -> DbResult<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut client = self.client.borrow_mut();
        let sink = client.copy_in(&format!("COPY {table} ({columns}) FROM STDIN BINARY"))?;
        let mut writer = BinaryCopyInWriter::new(sink, types);
        for row in rows {
            values(row, &mut |v| Ok(writer.write(v)?))?;
        }
        Ok(writer.finish()?)
    }
}

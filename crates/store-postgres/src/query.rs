//! SQL text built with its parameters, numbered as PostgreSQL wants them
//! (`$1`, `$2`, …) in the order they are bound, so that a condition spliced
//! into a query can never take another's parameter.

use postgres::types::ToSql;

use crate::connection::Param;

/// A statement being built and its parameters.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends the placeholder of a new parameter `value`.
    pub(crate) fn bind<T: ToSql + Sync + Send + 'static>(&mut self, value: T) -> &mut Sql {
        self.params.push(Box::new(value));
        self.text.push_str(&format!("${}", self.params.len()));
        self
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn params(&self) -> Vec<Param<'_>> {
        self.params.iter().map(|p| &**p as Param<'_>).collect()
    }
}

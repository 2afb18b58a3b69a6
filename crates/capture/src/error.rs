//! The one error capture answers with.

use std::fmt;

/// Why a batch was not captured, located as precisely as the input allows: the record and the
/// field for JSON, the row and the column for CSV, the line and the column for a syntax error.
///
/// Record indices count from 0, the way the batch array and the store's refusals
/// (`StoreError::Refused`) number them; CSV rows count from 1, the way a spreadsheet shows data
/// rows below the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CaptureError {
    /// The record of the batch at fault, counted from 0.
    pub record: Option<usize>,
    /// The CSV data row at fault, counted from 1 below the header.
    pub row: Option<usize>,
    /// A path into the record (`output.measurement.grade`, `inputs[1].mass`) or, for CSV, the
    /// column name (`grade`).
    pub field: Option<String>,
    /// The line of a syntax error, counted from 1.
    pub line: Option<usize>,
    /// The column (character) of a JSON syntax error on its line, counted from 1.
    pub column: Option<usize>,
    /// What is wrong and, where the domain knows, how to write it right.
    pub message: String,
}

impl CaptureError {
    /// An error about the batch as a whole.
    pub(crate) fn batch(message: impl Into<String>) -> CaptureError {
        CaptureError {
            record: None,
            row: None,
            field: None,
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// Whether the input is not well-formed text of its format (JSON or CSV syntax), as opposed
    /// to well-formed text whose content is wrong.
    pub fn is_syntax(&self) -> bool {
        self.line.is_some()
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
            if let Some(column) = self.column {
                parts.push(format!("column {column}"));
            }
        }
        if let Some(record) = self.record {
            parts.push(format!("record {record}"));
        }
        if let Some(row) = self.row {
            parts.push(format!("row {row}"));
        }
        if let Some(field) = &self.field {
            let label = if self.row.is_some() {
                "column"
            } else {
                "field"
            };
            parts.push(format!("{label} {field}"));
        }
        if parts.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", parts.join(", "), self.message)
        }
    }
}

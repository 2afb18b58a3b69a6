//! Capture through any node (issue 5 §3): a node that does not sequence
//! queues what it is asked to append in `capture_queue`; the sequencer takes
//! queued batches into its group commits as it takes its own, and writes
//! each one's outcome to `capture_result` and deletes its queue row in the
//! same transaction as the entries — so a queued batch is sequenced exactly
//! once, by whichever process holds the sequencer lock when it is taken,
//! and its receipts wait in the database until the node that queued it
//! reads them.

use retrace_domain::project::Refusal;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::receipt::Receipt;
use retrace_store::{Appended, Scope, StoreError};
use serde::{Deserialize, Serialize};

use crate::connection::Conn;
use crate::error::{DbError, DbResult};

/// A batch another node queued.
#[derive(Debug)]
pub(crate) struct Queued {
    pub id: i64,
    pub scope: Scope,
    pub batch: Vec<Record>,
}

/// An outcome as it waits in `capture_result`.
#[derive(Serialize, Deserialize)]
enum Wire {
    Appended {
        receipts: Vec<Vec<u8>>,
        checkpoint: Vec<u8>,
    },
    Refused {
        record: usize,
        refusal: Refusal,
    },
    Forbidden {
        record: usize,
        why: String,
    },
    NotFound(String),
    BadRequest(String),
    Internal(String),
}

fn corrupt(what: &'static str) -> impl Fn(serde_json::Error) -> DbError {
    move |e| DbError::corrupt(what, e)
}

/// Queues `batch` for the sequencer; answers its queue id.
pub(crate) fn enqueue(conn: &Conn, scope: &Scope, batch: &[Record]) -> DbResult<i64> {
    let scope = serde_json::to_vec(scope).map_err(corrupt("queued scope"))?;
    let batch = serde_json::to_vec(batch).map_err(corrupt("queued batch"))?;
    Ok(conn
        .query_one(
            "INSERT INTO capture_queue (scope, batch) VALUES ($1, $2) RETURNING id",
            &[&scope, &batch],
        )?
        .try_get(0)?)
}

/// The oldest queued batches, at most `limit`.
pub(crate) fn queued(conn: &Conn, limit: usize) -> DbResult<Vec<Queued>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.query(
        "SELECT id, scope, batch FROM capture_queue ORDER BY id LIMIT $1",
        &[&limit],
    )?
    .iter()
    .map(|r| {
        let scope: Vec<u8> = r.try_get(1)?;
        let batch: Vec<u8> = r.try_get(2)?;
        Ok(Queued {
            id: r.try_get(0)?,
            scope: serde_json::from_slice(&scope).map_err(corrupt("queued scope"))?,
            batch: serde_json::from_slice(&batch).map_err(corrupt("queued batch"))?,
        })
    })
    .collect()
}

/// Writes the outcome of queued batch `id` and takes it off the queue, in
/// the caller's transaction.
pub(crate) fn finish(conn: &Conn, id: i64, outcome: &Result<Appended, StoreError>) -> DbResult<()> {
    let wire = match outcome {
        Ok(a) => Wire::Appended {
            receipts: a.receipts.iter().map(Receipt::to_bytes).collect(),
            checkpoint: a.checkpoint.as_bytes().to_vec(),
        },
        Err(StoreError::Refused { record, refusal }) => Wire::Refused {
            record: *record,
            refusal: refusal.clone(),
        },
        Err(StoreError::Forbidden { record, why }) => Wire::Forbidden {
            record: *record,
            why: why.clone(),
        },
        Err(StoreError::NotFound(m)) => Wire::NotFound(m.clone()),
        Err(StoreError::BadRequest(m)) => Wire::BadRequest(m.clone()),
        Err(StoreError::Internal(m)) => Wire::Internal(m.clone()),
    };
    let bytes = serde_json::to_vec(&wire).map_err(corrupt("capture outcome"))?;
    conn.execute(
        "INSERT INTO capture_result (id, outcome) VALUES ($1, $2)",
        &[&id, &bytes],
    )?;
    conn.execute("DELETE FROM capture_queue WHERE id = $1", &[&id])?;
    Ok(())
}

/// The outcomes that have arrived for `ids`, taken off `capture_result`.
pub(crate) fn results(
    conn: &Conn,
    ids: &[i64],
) -> DbResult<Vec<(i64, Result<Appended, StoreError>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = conn.query(
        "DELETE FROM capture_result WHERE id = ANY($1) RETURNING id, outcome",
        &[&ids],
    )?;
    rows.iter()
        .map(|r| {
            let bytes: Vec<u8> = r.try_get(1)?;
            let wire: Wire = serde_json::from_slice(&bytes).map_err(corrupt("capture outcome"))?;
            let outcome = match wire {
                Wire::Appended {
                    receipts,
                    checkpoint,
                } => Ok(Appended {
                    receipts: receipts
                        .iter()
                        .map(|b| Receipt::parse(b).map_err(|e| DbError::corrupt("receipt", e)))
                        .collect::<DbResult<_>>()?,
                    checkpoint: SignedCheckpoint::parse(&checkpoint)
                        .map_err(|e| DbError::corrupt("checkpoint", e))?,
                }),
                Wire::Refused { record, refusal } => Err(StoreError::Refused { record, refusal }),
                Wire::Forbidden { record, why } => Err(StoreError::Forbidden { record, why }),
                Wire::NotFound(m) => Err(StoreError::NotFound(m)),
                Wire::BadRequest(m) => Err(StoreError::BadRequest(m)),
                Wire::Internal(m) => Err(StoreError::Internal(m)),
            };
            Ok((r.try_get(0)?, outcome))
        })
        .collect()
}

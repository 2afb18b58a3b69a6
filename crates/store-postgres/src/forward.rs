//! Capture through any node (issue 5 §3): a node that does not sequence
//! queues what it is asked to append — with its caller's authority and write
//! context, so that the trail names who recorded it and an idempotency key
//! holds whichever node a retry reaches — and the trail events of the reads
//! and identity changes it serves, in `capture_queue`. The sequencer takes
//! queued requests into its group commits as it takes its own, and writes
//! each one's outcome to `capture_result` and deletes its queue row in the
//! same transaction as the entries — so a queued request is sequenced
//! exactly once, by whichever process holds the sequencer lock when it is
//! taken, and its answer waits in the database until the node that queued
//! it reads it.

use retrace_domain::project::Refusal;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::receipt::Receipt;
use retrace_store::trail::Actor;
use retrace_store::{Appended, Authority, Idempotency, StoreError, TrailEvent, WriteContext};
use serde::{Deserialize, Serialize};

use crate::connection::Conn;
use crate::error::{DbError, DbResult};

/// What a queue row asks the sequencer for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    Append {
        authority: Authority,
        batch: Vec<Record>,
        context: WriteContext,
    },
    /// A trail event; `answer` when its node waits for its index (a read's
    /// trail entry), not when it only has to be recorded (an identity change
    /// committed with it).
    Trail { event: TrailEvent, answer: bool },
}

/// A queued request and its queue id.
#[derive(Debug)]
pub(crate) struct Queued {
    pub id: i64,
    pub request: Request,
}

/// A request as it waits in `capture_queue.request` (the batch is the
/// `batch` column's).
#[derive(Serialize, Deserialize)]
enum WireRequest {
    Append {
        authority: Authority,
        actor: Actor,
        request: String,
        /// The idempotency key and the hex SHA-256 of its body.
        idempotency: Option<(String, String)>,
    },
    Trail {
        event: TrailEvent,
        answer: bool,
    },
}

/// An outcome as it waits in `capture_result`.
#[derive(Serialize, Deserialize)]
enum Wire {
    Appended {
        receipts: Vec<Vec<u8>>,
        checkpoint: Vec<u8>,
        replayed: bool,
    },
    Trail(u64),
    Refused {
        record: usize,
        refusal: Refusal,
    },
    Forbidden {
        record: usize,
        field: String,
        why: String,
    },
    IdempotencyMismatch(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    Internal(String),
}

/// What a queued request came to.
#[derive(Debug)]
pub(crate) enum Outcome {
    Appended(Result<Appended, StoreError>),
    Trail(Result<u64, StoreError>),
}

fn corrupt(what: &'static str) -> impl Fn(serde_json::Error) -> DbError {
    move |e| DbError::corrupt(what, e)
}

/// The fields a refusal of a write names (`retrace_domain::scope`), back as
/// the static names the error carries.
fn field_name(field: &str) -> &'static str {
    ["enterprise", "act", "official", "kind", "role", "id"]
        .into_iter()
        .find(|f| *f == field)
        .unwrap_or("record")
}

/// Queues `request` for the sequencer, in the caller's transaction if it
/// has one; answers its queue id.
pub(crate) fn enqueue(conn: &Conn, request: &Request) -> DbResult<i64> {
    let (wire, batch) = match request {
        Request::Append {
            authority,
            batch,
            context,
        } => (
            WireRequest::Append {
                authority: authority.clone(),
                actor: context.actor.clone(),
                request: context.request.clone(),
                idempotency: context
                    .idempotency
                    .as_ref()
                    .map(|i| (i.key().to_owned(), hex::encode(i.body_digest()))),
            },
            Some(serde_json::to_vec(batch).map_err(corrupt("queued batch"))?),
        ),
        Request::Trail { event, answer } => (
            WireRequest::Trail {
                event: event.clone(),
                answer: *answer,
            },
            None,
        ),
    };
    let wire = serde_json::to_vec(&wire).map_err(corrupt("queued request"))?;
    Ok(conn
        .query_one(
            "INSERT INTO capture_queue (request, batch) VALUES ($1, $2) RETURNING id",
            &[&wire, &batch],
        )?
        .try_get(0)?)
}

fn decode(wire: &[u8], batch: Option<&[u8]>) -> DbResult<Request> {
    let wire: WireRequest = serde_json::from_slice(wire).map_err(corrupt("queued request"))?;
    Ok(match wire {
        WireRequest::Append {
            authority,
            actor,
            request,
            idempotency,
        } => {
            let batch = batch.ok_or_else(|| DbError::corrupt("queued batch", "missing"))?;
            let idempotency = idempotency
                .map(|(key, body)| {
                    let body: [u8; 32] = hex::decode(&body)
                        .ok()
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| DbError::corrupt("queued idempotency body", &body))?;
                    Idempotency::with_digest(&key, body)
                        .map_err(|e| DbError::corrupt("queued idempotency key", e))
                })
                .transpose()?;
            Request::Append {
                authority,
                batch: serde_json::from_slice(batch).map_err(corrupt("queued batch"))?,
                context: WriteContext {
                    actor,
                    request,
                    idempotency,
                },
            }
        }
        WireRequest::Trail { event, answer } => Request::Trail { event, answer },
    })
}

/// The oldest queued requests, at most `limit`.
pub(crate) fn queued(conn: &Conn, limit: usize) -> DbResult<Vec<Queued>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.query(
        "SELECT id, request, batch FROM capture_queue ORDER BY id LIMIT $1",
        &[&limit],
    )?
    .iter()
    .map(|r| {
        let wire: Vec<u8> = r.try_get(1)?;
        let batch: Option<Vec<u8>> = r.try_get(2)?;
        Ok(Queued {
            id: r.try_get(0)?,
            request: decode(&wire, batch.as_deref())?,
        })
    })
    .collect()
}

fn wire_error(e: &StoreError) -> Wire {
    match e {
        StoreError::Refused { record, refusal } => Wire::Refused {
            record: *record,
            refusal: refusal.clone(),
        },
        StoreError::Forbidden { record, field, why } => Wire::Forbidden {
            record: *record,
            field: (*field).to_owned(),
            why: why.clone(),
        },
        StoreError::IdempotencyMismatch { key } => Wire::IdempotencyMismatch(key.clone()),
        StoreError::NotFound(m) => Wire::NotFound(m.clone()),
        StoreError::BadRequest(m) => Wire::BadRequest(m.clone()),
        StoreError::Conflict(m) => Wire::Conflict(m.clone()),
        StoreError::Internal(m) => Wire::Internal(m.clone()),
    }
}

/// Takes queued request `id` off the queue and, when its node waits for it,
/// writes its outcome, in the caller's transaction.
pub(crate) fn finish(conn: &Conn, id: i64, outcome: Option<&Outcome>) -> DbResult<()> {
    if let Some(outcome) = outcome {
        let wire = match outcome {
            Outcome::Appended(Ok(a)) => Wire::Appended {
                receipts: a.receipts.iter().map(Receipt::to_bytes).collect(),
                checkpoint: a.checkpoint.as_bytes().to_vec(),
                replayed: a.replayed,
            },
            Outcome::Trail(Ok(index)) => Wire::Trail(*index),
            Outcome::Appended(Err(e)) | Outcome::Trail(Err(e)) => wire_error(e),
        };
        let bytes = serde_json::to_vec(&wire).map_err(corrupt("capture outcome"))?;
        conn.execute(
            "INSERT INTO capture_result (id, outcome) VALUES ($1, $2)",
            &[&id, &bytes],
        )?;
    }
    conn.execute("DELETE FROM capture_queue WHERE id = $1", &[&id])?;
    Ok(())
}

/// The outcomes that have arrived for `ids`, taken off `capture_result`.
pub(crate) fn results(conn: &Conn, ids: &[i64]) -> DbResult<Vec<(i64, Outcome)>> {
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
            let error = |e: StoreError| Outcome::Appended(Err(e));
            let outcome = match wire {
                Wire::Appended {
                    receipts,
                    checkpoint,
                    replayed,
                } => Outcome::Appended(Ok(Appended {
                    receipts: receipts
                        .iter()
                        .map(|b| Receipt::parse(b).map_err(|e| DbError::corrupt("receipt", e)))
                        .collect::<DbResult<_>>()?,
                    checkpoint: SignedCheckpoint::parse(&checkpoint)
                        .map_err(|e| DbError::corrupt("checkpoint", e))?,
                    replayed,
                })),
                Wire::Trail(index) => Outcome::Trail(Ok(index)),
                Wire::Refused { record, refusal } => error(StoreError::Refused { record, refusal }),
                Wire::Forbidden { record, field, why } => error(StoreError::Forbidden {
                    record,
                    field: field_name(&field),
                    why,
                }),
                Wire::IdempotencyMismatch(key) => error(StoreError::IdempotencyMismatch { key }),
                Wire::NotFound(m) => error(StoreError::NotFound(m)),
                Wire::BadRequest(m) => error(StoreError::BadRequest(m)),
                Wire::Conflict(m) => error(StoreError::Conflict(m)),
                Wire::Internal(m) => error(StoreError::Internal(m)),
            };
            Ok((r.try_get(0)?, outcome))
        })
        .collect()
}

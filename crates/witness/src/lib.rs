//! `retrace witness`: a transparency-log witness (C2SP tlog-witness) that
//! the ministry or an auditor runs beside a retrace installation (issue 9
//! §4; DESIGN.md §4: "tlog-witness cosigning as the way a second party keeps
//! the operator from forking history").
//!
//! The witness trusts a list of log keys. For each log it keeps the latest
//! checkpoint it cosigned, in a state file it replaces atomically (write,
//! sync, rename, sync the directory) before it answers, under one lock, so
//! that no two requests can roll its state back. It cosigns a checkpoint
//! only when it extends that one consistently (RFC 9162 §2.1.4); a log that
//! shows another history to someone else cannot get that one cosigned by the
//! same witness, and the refused checkpoint is kept as evidence.
//!
//! [`submit`] is the log's side: it offers a retrace installation's latest
//! checkpoint with a consistency proof from the size the witness holds.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use retrace_domain::clock::Clock;
use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::cosignature::{CosignerKey, CosignerVerifier};
use retrace_ledger::hash::Hash;
use retrace_ledger::witness::{AddCheckpoint, Cosigned, Refusal, add_checkpoint};
use serde::{Deserialize, Serialize};

/// The largest request body: 63 proof lines and a checkpoint with a few
/// signatures fit many times over.
const MAX_REQUEST: usize = 64 * 1024;

/// Why the witness cannot run or answer.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("witness state {path}: {error}")]
    State { path: PathBuf, error: String },
    #[error("witness I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// What the state file holds: the latest cosigned size and root per log origin.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    logs: BTreeMap<String, (u64, String)>,
}

/// A running witness's shared state.
struct Inner {
    key: CosignerKey,
    logs: Vec<LogVerifier>,
    clock: Arc<dyn Clock>,
    dir: PathBuf,
    state: Mutex<BTreeMap<String, Cosigned>>,
}

/// A witness over a directory that holds its state and the evidence it kept.
#[derive(Clone)]
pub struct Witness(Arc<Inner>);

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("key", &self.0.key)
            .field("logs", &self.0.logs.len())
            .finish_non_exhaustive()
    }
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("witness-state.json")
}

fn evidence_dir(dir: &Path) -> PathBuf {
    dir.join("evidence")
}

impl Witness {
    /// Opens the witness's state in `dir` (created if needed).
    ///
    /// # Errors
    /// When the state file cannot be read or is damaged.
    pub fn open(
        dir: &Path,
        key: CosignerKey,
        logs: Vec<LogVerifier>,
        clock: Arc<dyn Clock>,
    ) -> Result<Witness, WitnessError> {
        std::fs::create_dir_all(dir)?;
        let path = state_path(dir);
        let damaged = |error: String| WitnessError::State {
            path: path.clone(),
            error,
        };
        let file: StateFile = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
            Err(e) => return Err(e.into()),
        };
        let mut state = BTreeMap::new();
        for (origin, (size, root)) in file.logs {
            let root: Hash = root
                .parse()
                .map_err(|_| damaged(format!("root of {origin}")))?;
            state.insert(origin, Cosigned { size, root });
        }
        Ok(Witness(Arc::new(Inner {
            key,
            logs,
            clock,
            dir: dir.to_owned(),
            state: Mutex::new(state),
        })))
    }

    /// The witness's public key, for the logs' clients.
    #[must_use]
    pub fn verifier(&self) -> CosignerVerifier {
        self.0.key.verifier()
    }

    /// The latest checkpoint cosigned for `origin`.
    #[must_use]
    pub fn latest(&self, origin: &str) -> Option<Cosigned> {
        self.0
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(origin)
            .copied()
    }

    /// Handles one `add-checkpoint` request body: checks it, persists the new
    /// state, and answers with the cosignature lines. Check and persist run
    /// under one lock (C2SP tlog-witness: "must be performed atomically").
    ///
    /// # Errors
    /// The [`Refusal`]; a state that cannot be persisted fails the request
    /// as a [`WitnessError`].
    pub fn add(&self, body: &[u8]) -> Result<Result<String, Refusal>, WitnessError> {
        let request = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let timestamp = u64::try_from(self.0.clock.now().unix_timestamp()).unwrap_or(0);
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        let answer = add_checkpoint(
            &request,
            &self.0.logs,
            |origin| state.get(origin).copied(),
            &self.0.key,
            timestamp,
        );
        match answer {
            Ok((checkpoint, line)) => {
                let mut next = state.clone();
                next.insert(
                    checkpoint.origin().to_owned(),
                    Cosigned {
                        size: checkpoint.size(),
                        root: checkpoint.root(),
                    },
                );
                persist(&self.0.dir, &next)?;
                *state = next;
                Ok(Ok(line))
            }
            Err(refusal @ (Refusal::Inconsistent | Refusal::Fork { .. })) => {
                keep_evidence(&self.0.dir, &request, &refusal)?;
                tracing::warn!(%refusal, "a checkpoint the witness will not cosign: evidence kept");
                Ok(Err(refusal))
            }
            Err(refusal) => Ok(Err(refusal)),
        }
    }
}

/// Replaces the state file atomically and durably.
fn persist(dir: &Path, state: &BTreeMap<String, Cosigned>) -> Result<(), WitnessError> {
    let file = StateFile {
        logs: state
            .iter()
            .map(|(o, c)| (o.clone(), (c.size, c.root.to_string())))
            .collect(),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| WitnessError::State {
        path: state_path(dir),
        error: e.to_string(),
    })?;
    let temp = dir.join("witness-state.json.new");
    let mut out = std::fs::File::create(&temp)?;
    out.write_all(&bytes)?;
    out.sync_all()?;
    std::fs::rename(&temp, state_path(dir))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Keeps a checkpoint the witness refused as inconsistent: a validly signed
/// checkpoint that does not extend the one cosigned before is proof that the
/// log showed two histories.
fn keep_evidence(
    dir: &Path,
    request: &AddCheckpoint,
    refusal: &Refusal,
) -> Result<(), WitnessError> {
    let evidence = evidence_dir(dir);
    std::fs::create_dir_all(&evidence)?;
    let digest = retrace_ledger::hash::leaf_hash(&request.note);
    let path = evidence.join(format!("{}.txt", &digest.to_string()[..16]));
    let mut out = std::fs::File::create(path)?;
    writeln!(out, "refused: {refusal}")?;
    out.write_all(&request.to_bytes())?;
    out.sync_all()?;
    Ok(())
}

/// The evidence files kept so far.
///
/// # Errors
/// When the directory cannot be read.
pub fn evidence(dir: &Path) -> Result<Vec<PathBuf>, WitnessError> {
    let evidence = evidence_dir(dir);
    if !evidence.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(evidence)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

async fn add_checkpoint_handler(State(witness): State<Witness>, body: Bytes) -> Response {
    let answer = tokio::task::spawn_blocking(move || witness.add(&body)).await;
    match answer {
        Ok(Ok(Ok(lines))) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            lines,
        )
            .into_response(),
        Ok(Ok(Err(Refusal::SizeMismatch { latest }))) => (
            StatusCode::CONFLICT,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/x.tlog.size"),
            )],
            format!("{latest}\n"),
        )
            .into_response(),
        Ok(Ok(Err(refusal))) => (
            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST),
            format!("{refusal}\n"),
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the witness could not persist its state");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "witness task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The witness's HTTP interface: `POST /add-checkpoint` (C2SP tlog-witness).
pub fn router(witness: Witness) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint_handler))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(witness)
}

/// Why a log's checkpoint did not get cosigned.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the witness is unreachable: {0}")]
    Unreachable(String),
    #[error("the witness refused the checkpoint ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the witness answered with no valid cosignature of {0}")]
    NoCosignature(String),
    #[error("the log cannot prove consistency from the witness's size {0}: {1}")]
    Proof(u64, String),
}

/// Offers `checkpoint` to the witness at `url` (its submission prefix): first
/// as if the witness held `known` leaves, then — when it answers with the
/// size it does hold — with a proof from that size, which `proof` makes.
/// Answers with the checkpoint and the verified cosignature line appended.
///
/// # Errors
/// [`SubmitError`].
pub async fn submit<F, Fut>(
    url: &str,
    witness: &CosignerVerifier,
    checkpoint: &SignedCheckpoint,
    known: u64,
    proof: F,
) -> Result<String, SubmitError>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Hash>, String>>,
{
    let client = reqwest::Client::new();
    let mut old = known;
    for _ in 0..2 {
        let hashes = if old == 0 {
            Vec::new()
        } else {
            proof(old).await.map_err(|e| SubmitError::Proof(old, e))?
        };
        let request = AddCheckpoint {
            old,
            proof: hashes,
            note: checkpoint.to_bytes(),
        };
        let answer = client
            .post(format!("{}/add-checkpoint", url.trim_end_matches('/')))
            .body(request.to_bytes())
            .send()
            .await
            .map_err(|e| SubmitError::Unreachable(e.to_string()))?;
        let status = answer.status().as_u16();
        let body = answer
            .text()
            .await
            .map_err(|e| SubmitError::Unreachable(e.to_string()))?;
        if status == 409
            && let Ok(size) = body.trim().parse::<u64>()
            && size != old
        {
            old = size;
            continue;
        }
        if status != 200 {
            return Err(SubmitError::Refused { status, body });
        }
        let note = checkpoint.as_bytes();
        let text_end = note
            .windows(2)
            .position(|w| w == b"\n\n")
            .map_or(note.len(), |i| i + 1);
        let line = body
            .lines()
            .find(|l| witness.verify(&note[..text_end], l).is_ok())
            .ok_or_else(|| SubmitError::NoCosignature(witness.name().to_owned()))?;
        return Ok(format!("{}{line}\n", String::from_utf8_lossy(note)));
    }
    Err(SubmitError::Refused {
        status: 409,
        body: "the witness's size kept changing".to_owned(),
    })
}

//! The witness's rules (C2SP tlog-witness, `add-checkpoint`), as pure code:
//! parse a request, check it against the logs the witness trusts and the
//! latest checkpoint it cosigned for the log, and cosign. The service that
//! keeps the state on disk and speaks HTTP is `retrace witness`.
//!
//! A request is an `old <size>` line, up to 63 base64 consistency-proof
//! lines, an empty line and a signed checkpoint. The answers, in the order
//! the specification checks them:
//!
//! | refusal | status |
//! |---|---|
//! | a body that is not such a request | 400 |
//! | a log the witness does not know | 404 |
//! | no valid signature of the log's key | 403 |
//! | `old` beyond the checkpoint's size | 400 |
//! | `old` is not the size the witness last cosigned | 409, with that size |
//! | the proof does not prove consistency | 422 |
//! | same size as last cosigned, other root | 409 |

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::Note;
use thiserror::Error;

use crate::checkpoint::{Checkpoint, LogVerifier};
use crate::cosignature::CosignerKey;
use crate::hash::Hash;
use crate::proof::verify_consistency;

/// The most consistency-proof lines a request may carry.
const MAX_PROOF_LINES: usize = 63;

/// What the witness last cosigned for one log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub size: u64,
    pub root: Hash,
}

/// A parsed `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint, as sent.
    pub note: Vec<u8>,
}

/// Why a request is not cosigned, with the status the protocol answers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    #[error("no valid signature of the log's key")]
    BadSignature,
    #[error("old size {old} is beyond the checkpoint's size {size}")]
    OldBeyondSize { old: u64, size: u64 },
    /// The client's old size is not the witness's; the answer carries the
    /// witness's, so the client can send a proof from it.
    #[error("the latest cosigned size is {latest}")]
    SizeMismatch { latest: u64 },
    #[error("the consistency proof does not verify")]
    Inconsistent,
    /// The same size with another root: the log has forked.
    #[error("size {size} was cosigned with another root: the log shows two histories")]
    Fork { size: u64 },
}

impl Refusal {
    /// The HTTP status of the refusal (C2SP tlog-witness).
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldBeyondSize { .. } => 400,
            Refusal::UnknownLog(_) => 404,
            Refusal::BadSignature => 403,
            Refusal::SizeMismatch { .. } | Refusal::Fork { .. } => 409,
            Refusal::Inconsistent => 422,
        }
    }
}

impl AddCheckpoint {
    /// Parses a request body.
    ///
    /// # Errors
    /// [`Refusal::Malformed`].
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
        let text = std::str::from_utf8(body).map_err(|_| Refusal::Malformed("not UTF-8"))?;
        let (head, note) = text
            .split_once("\n\n")
            .ok_or(Refusal::Malformed("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| *n == "0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(Refusal::Malformed("the first line is `old <size>`"))?;
        let proof = lines
            .map(|l| {
                let bytes = BASE64
                    .decode(l)
                    .map_err(|_| Refusal::Malformed("a proof line is not base64"))?;
                let hash: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| Refusal::Malformed("a proof line is not a 32-byte hash"))?;
                Ok(Hash(hash))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(Refusal::Malformed("more than 63 proof lines"));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            note: note.as_bytes().to_vec(),
        })
    }

    /// The request body of this request.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.old);
        for h in &self.proof {
            body.push_str(&BASE64.encode(h.0));
            body.push('\n');
        }
        body.push('\n');
        let mut bytes = body.into_bytes();
        bytes.extend_from_slice(&self.note);
        bytes
    }
}

/// Checks a request against the trusted logs and the last cosigned state of
/// its log (`latest` looks it up by origin), and answers with the checkpoint
/// to record as the new state and the cosignature lines to return. The
/// caller persists the new state before answering, atomically with the
/// lookup.
///
/// # Errors
/// The [`Refusal`] of the first check that fails.
pub fn add_checkpoint(
    request: &AddCheckpoint,
    logs: &[LogVerifier],
    latest: impl Fn(&str) -> Option<Cosigned>,
    key: &CosignerKey,
    timestamp: u64,
) -> Result<(Checkpoint, String), Refusal> {
    let note =
        Note::from_bytes(&request.note).map_err(|_| Refusal::Malformed("not a signed note"))?;
    let text = note.text();
    let body = tlog_tiles::Checkpoint::from_bytes(text)
        .map_err(|_| Refusal::Malformed("not a checkpoint"))?;
    let origin = body.origin();
    let log = logs
        .iter()
        .find(|v| v.name() == origin)
        .ok_or_else(|| Refusal::UnknownLog(origin.to_owned()))?;
    match note.verify(log) {
        Ok((verified, _)) if !verified.is_empty() => {}
        _ => return Err(Refusal::BadSignature),
    }
    let checkpoint = Checkpoint::new(origin, body.size(), Hash(body.hash().0))
        .map_err(|_| Refusal::Malformed("not a checkpoint"))?;
    if request.old > checkpoint.size() {
        return Err(Refusal::OldBeyondSize {
            old: request.old,
            size: checkpoint.size(),
        });
    }
    let last = latest(origin);
    let last_size = last.map_or(0, |c| c.size);
    if request.old != last_size {
        return Err(Refusal::SizeMismatch { latest: last_size });
    }
    match last {
        None => {
            if !request.proof.is_empty() {
                return Err(Refusal::Inconsistent);
            }
        }
        Some(last) if last.size == checkpoint.size() => {
            if last.root != checkpoint.root() {
                return Err(Refusal::Fork { size: last.size });
            }
        }
        Some(last) => verify_consistency(
            last.size,
            checkpoint.size(),
            &last.root,
            &checkpoint.root(),
            &request.proof,
        )
        .map_err(|_| Refusal::Inconsistent)?,
    }
    Ok((checkpoint, key.cosign(text, timestamp)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogKey;
    use crate::proof::consistency_proof;
    use crate::tree::MemoryTree;

    fn tree(leaves: u8, fork_at: Option<u8>) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..leaves {
            let byte = if Some(i) == fork_at { 0xff } else { i };
            t.push(crate::hash::leaf_hash(&[byte]));
        }
        t
    }

    fn signed(log: &LogKey, t: &MemoryTree) -> Vec<u8> {
        Checkpoint::new(log.origin(), t.leaves().len() as u64, t.root())
            .unwrap()
            .sign(log)
            .to_bytes()
    }

    fn request(old: u64, proof: Vec<Hash>, note: Vec<u8>) -> AddCheckpoint {
        let r = AddCheckpoint { old, proof, note };
        assert_eq!(AddCheckpoint::parse(&r.to_bytes()).unwrap(), r);
        r
    }

    #[test]
    fn a_growing_log_is_cosigned_and_a_fork_is_refused() {
        let log = LogKey::from_seed("retrace.example/log", &[1; 32]).unwrap();
        let witness = CosignerKey::from_seed("witness.example/w1", &[2; 32]).unwrap();
        let logs = [log.verifier()];
        let none = |_: &str| None;
        let five = tree(5, None);
        let (first, line) = add_checkpoint(
            &request(0, vec![], signed(&log, &five)),
            &logs,
            none,
            &witness,
            10,
        )
        .unwrap();
        assert_eq!(first.size(), 5);
        let note = Note::from_bytes(&signed(&log, &five)).unwrap();
        assert_eq!(witness.verifier().verify(note.text(), &line), Ok(10));

        let state = Cosigned {
            size: 5,
            root: five.root(),
        };
        let at = |_: &str| Some(state);
        let nine = tree(9, None);
        let proof = consistency_proof(5, 9, &nine).unwrap();
        add_checkpoint(
            &request(5, proof, signed(&log, &nine)),
            &logs,
            at,
            &witness,
            11,
        )
        .expect("a consistent extension is cosigned");

        // The same key signs a second history that rewrote leaf 3.
        let forked = tree(9, Some(3));
        let proof = consistency_proof(5, 9, &forked).unwrap();
        let refused = add_checkpoint(
            &request(5, proof, signed(&log, &forked)),
            &logs,
            at,
            &witness,
            12,
        )
        .unwrap_err();
        assert_eq!(refused, Refusal::Inconsistent);
        assert_eq!(refused.status(), 422);
        let same_size_fork = tree(5, Some(3));
        let refused = add_checkpoint(
            &request(5, vec![], signed(&log, &same_size_fork)),
            &logs,
            at,
            &witness,
            13,
        )
        .unwrap_err();
        assert_eq!(refused, Refusal::Fork { size: 5 });
        assert_eq!(refused.status(), 409);
    }

    #[test]
    fn every_refusal_has_its_status() {
        let log = LogKey::from_seed("retrace.example/log", &[1; 32]).unwrap();
        let stranger = LogKey::from_seed("retrace.example/log", &[9; 32]).unwrap();
        let other = LogKey::from_seed("other.example/log", &[1; 32]).unwrap();
        let witness = CosignerKey::from_seed("witness.example/w1", &[2; 32]).unwrap();
        let logs = [log.verifier()];
        let five = tree(5, None);
        let state = Cosigned {
            size: 5,
            root: five.root(),
        };
        let at = |_: &str| Some(state);
        let status = |r: AddCheckpoint| {
            add_checkpoint(&r, &logs, at, &witness, 1)
                .unwrap_err()
                .status()
        };
        assert_eq!(status(request(0, vec![], signed(&other, &five))), 404);
        assert_eq!(status(request(5, vec![], signed(&stranger, &five))), 403);
        assert_eq!(status(request(6, vec![], signed(&log, &five))), 400);
        assert_eq!(status(request(3, vec![], signed(&log, &five))), 409);
        match add_checkpoint(
            &request(3, vec![], signed(&log, &five)),
            &logs,
            at,
            &witness,
            1,
        ) {
            Err(Refusal::SizeMismatch { latest: 5 }) => {}
            other => panic!("{other:?}"),
        }
        let nine = tree(9, None);
        assert_eq!(
            status(request(5, vec![Hash([7; 32])], signed(&log, &nine))),
            422
        );
        for bad in [
            &b"old 01\n\nx"[..],
            b"old 1\n",
            b"new 1\n\n",
            b"old 0\n!!!\n\n",
        ] {
            assert!(matches!(
                AddCheckpoint::parse(bad),
                Err(Refusal::Malformed(_))
            ));
        }
    }
}

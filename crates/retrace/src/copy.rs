//! `retrace copy --from sqlite:PATH --to postgres://…`: moves an embedded
//! installation into PostgreSQL (issue 5 §5, "moving up").
//!
//! First the state that is not the ledger — accounts, sessions, tokens,
//! throttle state, idempotency keys and the audit trail with its tree and
//! its signed checkpoints — is written row for row (`PgStore::copy_rows`).
//! Then every commit of the source's ledger is sequenced again in the
//! target as one commit, each entry at its original index and record time
//! (`PgStore::replay`), so every leaf, root and signed checkpoint comes out
//! the same — Ed25519 signatures are deterministic — and every projection is
//! computed again by the target's own projector. The move is proved by the
//! ledger's checkpoints, compared note for note as they are signed, and by
//! the digests of every table (`retrace_store::digest`), the trail's
//! included, compared at the end; `retrace audit` on the target then checks
//! the trail's checkpoints against its recomputed tree and its key.

use anyhow::{Context, bail};
use retrace_store::{Identity, MAX_PAGE, Store, digest};

use crate::backend::{Backend, Database};
use crate::commands::{EXIT_CHECK_FAILED, EXIT_OK};
use crate::datadir::DataDir;

/// Moves the ledger of `from` into the empty store `to`, with the keys of `dir`.
///
/// # Errors
/// When a store cannot be opened, the target is not empty, or a commit
/// cannot be replayed.
pub async fn run(dir: &DataDir, from: &Database, to: &Database) -> anyhow::Result<u8> {
    let source = dir.open(from).await?;
    let target = dir.open(to).await?;
    let (Backend::Sqlite(lite), Backend::Postgres(pg)) = (&source, &target) else {
        bail!("copy moves an embedded store (`sqlite:PATH`) into PostgreSQL (`postgres://…`)");
    };
    let size = target.checkpoint().await?.checkpoint().size();
    if size != 0 {
        bail!(
            "{to} already holds a ledger of {size} entries; copy moves a ledger into an empty store"
        );
    }
    let trail = target.trail_checkpoint().await?.checkpoint().size();
    if trail != 0 {
        bail!(
            "{to} already holds an audit trail of {trail} entries; copy moves into an empty store"
        );
    }
    for table in digest::STATE_TABLES {
        let rows = lite.table_rows(table)?;
        let count = rows.len();
        pg.copy_rows(table, rows)
            .await
            .with_context(|| format!("copying {table}"))?;
        println!("{table}: {count} rows copied");
    }
    let total = source.checkpoint().await?.checkpoint().size();
    println!("copying {total} entries from {from} to {to}, commit by commit");
    let mut done = 0u64;
    let mut after = 0u64;
    loop {
        let page = source.checkpoints(after, MAX_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.checkpoint().size();
        for checkpoint in page {
            let end = checkpoint.checkpoint().size();
            let records = lite.ledger_records(done, end)?;
            let Some((_, time, _)) = records.first() else {
                bail!("{from} has a checkpoint of size {end} but no entries {done}…{end}");
            };
            let time = time.clone();
            if records.iter().any(|(_, t, _)| *t != time) {
                bail!("entries {done}…{end} of {from} were not recorded in one commit");
            }
            let batch = records.into_iter().map(|(_, _, r)| r).collect();
            let signed = pg
                .replay(done, &time, batch)
                .with_context(|| format!("replaying entries {done}…{end}"))?;
            if signed.as_bytes() != checkpoint.as_bytes() {
                println!(
                    "DIFFERS checkpoint of size {end}: the target signed another tree; stopping"
                );
                return Ok(EXIT_CHECK_FAILED);
            }
            done = end;
        }
        println!("{done} of {total} entries copied");
    }
    let (a, b) = (source.table_digests().await?, target.table_digests().await?);
    let mut differ = 0;
    for ((table, rows, digest), (_, other_rows, other)) in a.iter().zip(&b) {
        let same = rows == other_rows && digest == other;
        if !same {
            differ += 1;
        }
        println!(
            "{} {table}: {rows} rows {} {other_rows} rows",
            if same { "same   " } else { "DIFFERS" },
            if same { "=" } else { "≠" }
        );
    }
    let root = target.checkpoint().await?;
    println!(
        "root {} at size {} in both stores; {}",
        root.checkpoint().root(),
        root.checkpoint().size(),
        if differ == 0 {
            "every table is the same: the move is proved".to_owned()
        } else {
            format!("{differ} tables differ")
        }
    );
    Ok(if differ == 0 {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

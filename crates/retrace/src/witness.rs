//! `retrace witness` and `retrace cosign`: running a witness (C2SP
//! tlog-witness) for the ministry or an auditor, and offering an
//! installation's latest checkpoint to one (issue 9 §4).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rand_core::OsRng;
use retrace_domain::clock::SystemClock;
use retrace_ledger::checkpoint::LogVerifier;
use retrace_ledger::cosignature::{CosignerKey, CosignerVerifier};
use retrace_store::Store;
use retrace_witness::Witness;

use crate::backend::Database;
use crate::commands::EXIT_OK;
use crate::datadir::{DataDir, write_secret};

fn key_path(dir: &Path) -> PathBuf {
    dir.join("witness.key")
}

/// The text of a key given inline or as a file.
fn key_text(value: &str) -> anyhow::Result<String> {
    if Path::new(value).is_file() {
        Ok(std::fs::read_to_string(value)
            .with_context(|| format!("reading {value}"))?
            .trim()
            .to_owned())
    } else {
        Ok(value.trim().to_owned())
    }
}

/// `retrace witness init`: a new witness key in `dir`.
///
/// # Errors
/// When the directory holds a key already or cannot be written.
pub fn init(dir: &Path, name: &str) -> anyhow::Result<u8> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if key_path(dir).exists() {
        anyhow::bail!(
            "{} holds a witness key already; refusing to replace it",
            dir.display()
        );
    }
    let key = CosignerKey::generate(name, &mut OsRng).map_err(|e| anyhow::anyhow!("{e}"))?;
    write_secret(&key_path(dir), key.to_secret_string().as_bytes())?;
    let vkey = key.verifier().to_string();
    std::fs::write(dir.join("witness.vkey"), format!("{vkey}\n"))?;
    println!(
        "witness key made in {}; its verifier key (give it to the logs' clients):\n{vkey}",
        dir.display()
    );
    Ok(EXIT_OK)
}

/// `retrace witness serve`: cosigns the checkpoints of the logs given.
///
/// # Errors
/// When the key or a log key cannot be read, or the listener fails.
pub async fn serve(dir: &Path, listen: SocketAddr, logs: &[String]) -> anyhow::Result<u8> {
    let key = CosignerKey::from_secret_string(&key_text(&key_path(dir).to_string_lossy())?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", key_path(dir).display()))?;
    let logs = logs
        .iter()
        .map(|l| {
            LogVerifier::from_vkey(&key_text(l)?).map_err(|e| anyhow::anyhow!("--log {l}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if logs.is_empty() {
        anyhow::bail!("give the verifier key of at least one log to witness (--log)");
    }
    let names: Vec<String> = logs.iter().map(|l| l.name().to_owned()).collect();
    let witness = Witness::open(dir, key, logs, Arc::new(SystemClock))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!(
        "witness {} serving http://{}/add-checkpoint for {}",
        witness.verifier().name(),
        listener.local_addr()?,
        names.join(", ")
    );
    axum::serve(listener, retrace_witness::router(witness))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(EXIT_OK)
}

/// `retrace cosign`: offers the installation's latest checkpoint to a
/// witness and writes the cosigned checkpoint beside the store.
///
/// # Errors
/// When the store cannot be opened or the witness refuses.
pub async fn cosign(
    dir: &DataDir,
    db: &Database,
    url: &str,
    witness_key: &str,
) -> anyhow::Result<u8> {
    let witness: CosignerVerifier = key_text(witness_key)?
        .parse()
        .map_err(|e| anyhow::anyhow!("--witness-key: {e}"))?;
    let store = Arc::new(dir.open(db).await?);
    let checkpoint = store.checkpoint().await?;
    let size = checkpoint.checkpoint().size();
    let proving = Arc::clone(&store);
    let cosigned = retrace_witness::submit(url, &witness, &checkpoint, 0, move |old| {
        let store = Arc::clone(&proving);
        async move {
            store
                .consistency_proof(old, size)
                .await
                .map_err(|e| e.to_string())
        }
    })
    .await?;
    let path = dir.root().join("cosigned.checkpoint");
    std::fs::write(&path, &cosigned).with_context(|| format!("writing {}", path.display()))?;
    print!("{cosigned}");
    Ok(EXIT_OK)
}

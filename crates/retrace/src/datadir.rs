//! The data directory: the store, the signing keys of the ledger and of the
//! audit trail, the salt secret and the CSRF key.
//!
//! `retrace init` makes the keys once; they are written readable by their
//! owner only (mode 0600), since whoever holds a log key can sign
//! checkpoints, whoever holds the salt secret can open commitments, and
//! whoever holds the CSRF key can forge form tokens. A directory made before
//! the audit trail existed gets its trail and CSRF keys the first time it is
//! opened.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rand_core::{OsRng, RngCore};
use retrace_access::CsrfKey;
use retrace_domain::clock::{Clock, SystemClock};
use retrace_domain::project::Projector;
use retrace_ledger::checkpoint::LogKey;
use retrace_store::{Identity, Store};
use retrace_store_postgres::{PgConfig, PgStore};
use retrace_store_sqlite::{SqliteConfig, SqliteStore};

use crate::backend::{Backend, Database};

/// The origin line of checkpoints, naming this log (C2SP tlog-checkpoint).
pub const DEFAULT_ORIGIN: &str = "retrace.local/ledger";

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// A streaming replica of the PostgreSQL database for dashboards,
    /// reports and traces (`--read-database`).
    replica: Option<String>,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir {
            root: root.into(),
            replica: None,
        }
    }

    /// Reads of dashboards, reports and traces go to the replica at `url`
    /// whenever the ledger is in PostgreSQL.
    pub fn with_read_replica(mut self, url: Option<String>) -> DataDir {
        self.replica = url;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The embedded store's file, the default database.
    pub fn database(&self) -> PathBuf {
        self.root.join("retrace.db")
    }

    /// The database `--database` names, or the embedded store of this directory.
    pub fn database_or_default(&self, chosen: Option<&Database>) -> Database {
        chosen
            .cloned()
            .unwrap_or_else(|| Database::Embedded(self.database()))
    }

    fn log_key_path(&self) -> PathBuf {
        self.root.join("log.key")
    }

    fn salt_path(&self) -> PathBuf {
        self.root.join("salt.key")
    }

    fn trail_key_path(&self) -> PathBuf {
        self.root.join("trail.key")
    }

    fn csrf_key_path(&self) -> PathBuf {
        self.root.join("csrf.key")
    }

    /// The audit trail's public verifier key.
    pub fn trail_verifier_key_path(&self) -> PathBuf {
        self.root.join("trail.vkey")
    }

    /// The public verifier key, safe to hand to anyone who verifies receipts.
    pub fn verifier_key_path(&self) -> PathBuf {
        self.root.join("log.vkey")
    }

    pub fn ground_truth_path(&self) -> PathBuf {
        self.root.join("ground-truth.json")
    }

    pub fn is_initialised(&self) -> bool {
        self.log_key_path().exists()
    }

    /// Creates the directory and its keys; refuses to overwrite existing keys.
    ///
    /// # Errors
    /// When the directory is already initialised or cannot be written.
    pub fn init(&self, origin: &str) -> anyhow::Result<LogKey> {
        if self.is_initialised() {
            bail!(
                "{} is already initialised (log.key exists); refusing to replace its keys",
                self.root.display()
            );
        }
        fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        let key = LogKey::generate(origin, &mut OsRng).context("making the log key")?;
        let mut salt = [0u8; 32];
        OsRng.fill_bytes(&mut salt);
        write_secret(&self.log_key_path(), key.to_secret_string().as_bytes())?;
        write_secret(&self.salt_path(), hex::encode(salt).as_bytes())?;
        fs::write(
            self.verifier_key_path(),
            format!("{}\n", key.verifier_key()),
        )
        .with_context(|| format!("writing {}", self.verifier_key_path().display()))?;
        self.ensure_trail_and_csrf_keys(&key)?;
        Ok(key)
    }

    /// The origin of the audit trail's checkpoints, beside the ledger's.
    fn trail_origin(log: &LogKey) -> String {
        format!("{}/trail", log.origin())
    }

    /// Makes the trail and CSRF keys of a directory that lacks them.
    fn ensure_trail_and_csrf_keys(&self, log: &LogKey) -> anyhow::Result<()> {
        if !self.trail_key_path().exists() {
            let trail = LogKey::generate(&Self::trail_origin(log), &mut OsRng)
                .context("making the trail key")?;
            write_secret(&self.trail_key_path(), trail.to_secret_string().as_bytes())?;
            fs::write(
                self.trail_verifier_key_path(),
                format!("{}\n", trail.verifier_key()),
            )
            .with_context(|| format!("writing {}", self.trail_verifier_key_path().display()))?;
        }
        if !self.csrf_key_path().exists() {
            let mut csrf = [0u8; 32];
            OsRng.fill_bytes(&mut csrf);
            write_secret(&self.csrf_key_path(), hex::encode(csrf).as_bytes())?;
        }
        Ok(())
    }

    fn trail_key(&self) -> anyhow::Result<LogKey> {
        let text = fs::read_to_string(self.trail_key_path())
            .with_context(|| format!("reading {}", self.trail_key_path().display()))?;
        LogKey::from_secret_string(text.trim()).context("the trail key file is damaged")
    }

    /// The key the server makes and checks CSRF tokens with.
    ///
    /// # Errors
    /// When the file is missing or damaged.
    pub fn csrf_key(&self) -> anyhow::Result<CsrfKey> {
        Ok(CsrfKey::from_bytes(read_secret_bytes(
            &self.csrf_key_path(),
            "the CSRF key file",
        )?))
    }

    pub fn trail_verifier_key(&self) -> anyhow::Result<String> {
        Ok(fs::read_to_string(self.trail_verifier_key_path())
            .with_context(|| format!("reading {}", self.trail_verifier_key_path().display()))?
            .trim()
            .to_owned())
    }

    fn log_key(&self) -> anyhow::Result<LogKey> {
        let text = fs::read_to_string(self.log_key_path()).with_context(|| {
            format!(
                "reading {} (run `retrace init` first)",
                self.log_key_path().display()
            )
        })?;
        LogKey::from_secret_string(text.trim()).context("the log key file is damaged")
    }

    fn salt_secret(&self) -> anyhow::Result<[u8; 32]> {
        read_secret_bytes(&self.salt_path(), "the salt secret file")
    }

    /// Opens the store with the real clock.
    ///
    /// # Errors
    /// When the directory is not initialised or the store cannot be opened.
    pub async fn open(&self, database: &Database) -> anyhow::Result<Backend> {
        self.open_with_clock(database, Arc::new(SystemClock)).await
    }

    /// Opens the store with a given clock (the demo industry and tests set it).
    /// A PostgreSQL ledger must carry this directory's log key and its audit
    /// trail this directory's trail key: a database signed by other keys is
    /// not opened.
    ///
    /// # Errors
    /// When the directory is not initialised or the store cannot be opened.
    pub async fn open_with_clock(
        &self,
        database: &Database,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Backend> {
        if !self.is_initialised() {
            bail!(
                "{} is not a retrace data directory; run `retrace init` or `retrace demo` first",
                self.root.display()
            );
        }
        let log_key = self.log_key()?;
        self.ensure_trail_and_csrf_keys(&log_key)?;
        let (trail_key, salt_secret) = (self.trail_key()?, self.salt_secret()?);
        let (verifier, trail_verifier) = (log_key.verifier(), trail_key.verifier());
        match database {
            Database::Embedded(path) => {
                let config = SqliteConfig {
                    log_key,
                    trail_key,
                    salt_secret,
                    clock,
                    projector: Projector::default(),
                };
                Ok(Backend::Sqlite(
                    SqliteStore::open(path, config)
                        .with_context(|| format!("opening {}", path.display()))?,
                ))
            }
            Database::Postgres(url) => {
                let config = PgConfig {
                    log_key,
                    trail_key,
                    salt_secret,
                    clock,
                    projector: Projector::default(),
                };
                let store =
                    PgStore::open(url, config).with_context(|| format!("opening {database}"))?;
                let latest = store.checkpoint().await?;
                if latest.verify(&verifier).is_err() {
                    bail!(
                        "{database} holds a ledger signed by another log key than {}'s; refusing to open it",
                        self.root.display()
                    );
                }
                if store
                    .trail_checkpoint()
                    .await?
                    .verify(&trail_verifier)
                    .is_err()
                {
                    bail!(
                        "{database} holds an audit trail signed by another trail key than {}'s; refusing to open it",
                        self.root.display()
                    );
                }
                Ok(Backend::Postgres(store))
            }
        }
    }

    pub fn verifier_key(&self) -> anyhow::Result<String> {
        Ok(fs::read_to_string(self.verifier_key_path())
            .with_context(|| format!("reading {}", self.verifier_key_path().display()))?
            .trim()
            .to_owned())
    }
}

/// Reads 32 bytes written as hex.
fn read_secret_bytes(path: &Path, what: &str) -> anyhow::Result<[u8; 32]> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{what} is damaged"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{what} is damaged: not 32 bytes"))
}

/// Writes a file readable by its owner only.
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

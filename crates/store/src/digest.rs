//! Digests of a store's tables, the same on every store: what `retrace copy`
//! compares to prove that a ledger moved from one store to another with
//! every row intact, and what the cross-store tests compare to prove that
//! both stores project the same inputs into the same rows.
//!
//! A table's digest is SHA-256 over its rows in primary-key order (keys
//! compared byte by byte), each value spelled as text — integers in decimal,
//! text as it is, bytes in lowercase hex — and length-prefixed, NULL apart.

use retrace_ledger::hash::Hash;
use sha2::{Digest, Sha256};

/// The tables both stores hold, with their key columns and then the rest, in
/// the embedded store's column order. The ledger's leaf is a column of
/// SQLite's `ledger` and PostgreSQL's `leaf` table; both digest it as a
/// column of `ledger`.
pub const TABLES: &[(&str, &[&str], &[&str])] = &[
    (
        "ledger",
        &["idx"],
        &[
            "record_time",
            "kind",
            "enterprise",
            "entry",
            "leaf",
            "salt",
            "record",
        ],
    ),
    ("tree_node", &["level", "idx"], &["hash"]),
    ("checkpoint", &["size"], &["note"]),
    ("enterprise", &["uscc"], &["grp", "seat", "body"]),
    ("facility", &["id"], &["operator", "region", "body"]),
    (
        "designation",
        &["enterprise", "category", "valid_from"],
        &["valid_to", "document"],
    ),
    ("enterprise_place", &["uscc", "region"], &[]),
    (
        "lot",
        &["id"],
        &[
            "code",
            "product",
            "measurement",
            "distribution",
            "feed_origin",
            "producer",
            "facility",
            "created_by",
            "created_at_ms",
            "reo",
            "elements",
        ],
    ),
    ("entry_lot", &["lot", "idx"], &[]),
    (
        "movement",
        &["entry", "n"],
        &["lot", "holder", "owner", "mass", "reo", "event_ms"],
    ),
    ("position", &["lot", "holder", "owner"], &["mass", "reo"]),
    (
        "lineage_edge",
        &["entry", "n"],
        &["from_lot", "to_lot", "mass", "reo"],
    ),
    (
        "pool_member",
        &["entry", "n"],
        &[
            "facility", "month", "process", "lot", "role", "mass", "reo", "elements",
        ],
    ),
    (
        "process_month",
        &["facility", "process", "month"],
        &[
            "in_reo",
            "out_reo",
            "in_known",
            "out_known",
            "in_elements",
            "out_elements",
            "in_ionic",
            "transforms",
        ],
    ),
    (
        "shipment",
        &["sender", "number"],
        &[
            "ship_entry",
            "ship_lot",
            "ship_receiver",
            "ship_mass",
            "ship_ms",
            "receive_entry",
            "receive_lot",
            "receive_receiver",
            "receive_mass",
            "receive_grade",
            "receive_ms",
        ],
    ),
    (
        "flag",
        &["key"],
        &[
            "rule",
            "enterprise",
            "facility",
            "lot",
            "month",
            "entries",
            "detail",
            "occurrences",
        ],
    ),
    ("entry_status", &["idx"], &["corrected_by"]),
    (
        "account",
        &["name"],
        &[
            "role",
            "enterprise",
            "password",
            "disabled",
            "display_name",
            "language",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "session",
        &["digest"],
        &["account", "role", "created_at", "last_seen_at"],
    ),
    (
        "api_token",
        &["id"],
        &[
            "digest",
            "account",
            "role",
            "enterprise",
            "label",
            "issued_by",
            "created_at",
            "expires_at",
            "revoked_at",
        ],
    ),
    (
        "login_throttle",
        &["key"],
        &["failures", "window_start", "last_failure", "locked_until"],
    ),
    (
        "idempotency",
        &["space", "key"],
        &["body", "first", "count", "size", "created_at"],
    ),
    (
        "trail",
        &["idx"],
        &[
            "time",
            "account",
            "action",
            "actor_region",
            "region",
            "entry",
            "leaf",
        ],
    ),
    ("trail_enterprise", &["enterprise", "idx"], &[]),
    ("trail_node", &["level", "idx"], &["hash"]),
    ("trail_checkpoint", &["size"], &["note"]),
];

/// The tables that are state rather than the ledger or its projections —
/// identity and the audit trail (schema 2) — which `retrace copy` moves row
/// by row as [`TABLES`] spells them, before it sequences the ledger again.
pub const STATE_TABLES: &[&str] = &[
    "account",
    "session",
    "api_token",
    "login_throttle",
    "idempotency",
    "trail",
    "trail_enterprise",
    "trail_node",
    "trail_checkpoint",
];

/// Whether `column` of `table` holds bytes, which [`TABLES`] spells in hex.
pub fn is_bytes(table: &str, column: &str) -> bool {
    matches!(
        (table, column),
        ("ledger", "entry" | "leaf" | "salt" | "record")
            | ("tree_node" | "trail_node", "hash")
            | ("checkpoint" | "trail_checkpoint", "note")
            | ("idempotency", "body")
            | ("trail", "entry" | "leaf")
    )
}

/// One table's digest, fed its rows in key order.
#[derive(Debug, Clone, Default)]
pub struct TableDigest {
    hasher: Sha256,
    rows: u64,
}

impl TableDigest {
    pub fn new() -> TableDigest {
        TableDigest::default()
    }

    /// Adds one row, its values spelled as text (NULL as `None`).
    pub fn row<'a>(&mut self, values: impl IntoIterator<Item = Option<&'a str>>) {
        for value in values {
            match value {
                None => self.hasher.update([0]),
                Some(v) => {
                    self.hasher.update([1]);
                    self.hasher.update((v.len() as u64).to_le_bytes());
                    self.hasher.update(v.as_bytes());
                }
            }
        }
        self.hasher.update([0xff]);
        self.rows += 1;
    }

    /// The number of rows and the digest.
    pub fn finish(self) -> (u64, Hash) {
        (self.rows, Hash(self.hasher.finalize().into()))
    }
}

/// Lowercase hex, the spelling of bytes in a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

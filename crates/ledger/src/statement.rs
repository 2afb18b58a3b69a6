//! The monthly statement an enterprise seals (Art. 10 of the measures; issue
//! 7 §3): a C2SP signed-note whose text fixes exactly which ledger entries
//! the month holds — their count and the RFC 9162 root of a tree over them,
//! whose leaves are the entries' own ledger leaves — together with the
//! month's quota figures, signed with the enterprise's Ed25519 key.
//!
//! Because the month's tree is built from the ledger leaves, anyone holding
//! the month's entries (the enterprise, from its receipts) recomputes the
//! root without trusting the server; and because the enterprise signs it,
//! the operator cannot later add or drop an entry of the month unnoticed,
//! nor the enterprise deny one.
//!
//! ```text
//! retrace/month-statement/v1
//! origin retrace.example/log
//! enterprise 91150200MA0N1X2Y3Q
//! month 2025-03
//! seal 1
//! entries 1234
//! root <base64 root>
//! quota mining_rock 1000000000000 12345678 98765432
//!
//! — 91150200MA0N1X2Y3Q <base64(key id || signature)>
//! ```
//!
//! A `quota` line gives a category, the allocation to date, the usage in the
//! month and the usage in the year to the month's end, in grams of REO.
//! The key's name is the enterprise's USCC.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::{Note, NoteError, VerificationError, Verifier, Verifiers};
use thiserror::Error;

use crate::checkpoint::{LogKey, LogVerifier};
use crate::hash::Hash;

/// The first line of every statement.
pub const HEADER: &str = "retrace/month-statement/v1";

/// Why a statement is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatementError {
    #[error("the statement is not a signed note")]
    MalformedNote,
    #[error("statement line {line}: {why}")]
    MalformedText { line: usize, why: String },
    #[error("the statement is signed by no key registered to {0}")]
    UnknownKey(String),
    #[error("a signature on the statement does not verify")]
    BadSignature,
}

/// One category's figures in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaFigures {
    /// The category's token (`mining_rock`, `mining_ionic`, `separation`).
    pub category: String,
    pub allocated_grams: u64,
    pub month_grams: i64,
    pub year_to_date_grams: i64,
}

/// What a statement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The log's origin, so that a statement cannot be replayed at another installation.
    pub origin: String,
    pub enterprise: String,
    /// `YYYY-MM`.
    pub month: String,
    /// 1 for the first seal of the month, one more after each amendment.
    pub seal: u32,
    pub entries: u64,
    pub root: Hash,
    /// In category order.
    pub quota: Vec<QuotaFigures>,
}

impl Statement {
    /// The note text: the lines above, each ending in a newline.
    #[must_use]
    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "{HEADER}");
        let _ = writeln!(t, "origin {}", self.origin);
        let _ = writeln!(t, "enterprise {}", self.enterprise);
        let _ = writeln!(t, "month {}", self.month);
        let _ = writeln!(t, "seal {}", self.seal);
        let _ = writeln!(t, "entries {}", self.entries);
        let _ = writeln!(t, "root {}", BASE64.encode(self.root.0));
        for q in &self.quota {
            let _ = writeln!(
                t,
                "quota {} {} {} {}",
                q.category, q.allocated_grams, q.month_grams, q.year_to_date_grams
            );
        }
        t
    }

    /// Reads a note text written by [`Statement::text`], and only that.
    ///
    /// # Errors
    /// [`StatementError::MalformedText`] naming the line.
    pub fn parse_text(text: &str) -> Result<Statement, StatementError> {
        let bad = |line: usize, why: &str| StatementError::MalformedText {
            line,
            why: why.to_owned(),
        };
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .ok_or_else(|| bad(0, "the text ends without a newline"))?
            .split('\n')
            .collect();
        if lines.first() != Some(&HEADER) {
            return Err(bad(1, "the first line is not retrace/month-statement/v1"));
        }
        let field = |n: usize, name: &str| -> Result<&str, StatementError> {
            lines
                .get(n)
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .filter(|v| !v.is_empty() && !v.contains(' '))
                .ok_or_else(|| bad(n + 1, &format!("expected `{name} <value>`")))
        };
        let number = |n: usize, name: &str| -> Result<u64, StatementError> {
            let v = field(n, name)?;
            if v.len() > 1 && v.starts_with('0') {
                return Err(bad(n + 1, "a number has no leading zeros"));
            }
            v.parse()
                .map_err(|_| bad(n + 1, &format!("`{name}` is not a number")))
        };
        let origin = field(1, "origin")?.to_owned();
        let enterprise = field(2, "enterprise")?.to_owned();
        let month = field(3, "month")?.to_owned();
        let seal = u32::try_from(number(4, "seal")?).map_err(|_| bad(5, "seal is too large"))?;
        let entries = number(5, "entries")?;
        let root_text = field(6, "root")?;
        let root: [u8; 32] = BASE64
            .decode(root_text)
            .ok()
            .filter(|b| BASE64.encode(b) == root_text)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad(7, "the root is not 32 bytes of canonical base64"))?;
        let mut quota = Vec::new();
        for (n, line) in lines.iter().enumerate().skip(7) {
            let parts: Vec<&str> = line.split(' ').collect();
            let [tag, category, allocated, month_used, to_date] = parts[..] else {
                return Err(bad(n + 1, "expected `quota <category> <g> <g> <g>`"));
            };
            let canonical = |v: &str| v == "0" || !(v.starts_with('0') || v.starts_with("-0"));
            if tag != "quota"
                || category.is_empty()
                || ![allocated, month_used, to_date].into_iter().all(canonical)
            {
                return Err(bad(n + 1, "expected `quota <category> <g> <g> <g>`"));
            }
            let num = |v: &str| v.parse::<i64>().map_err(|_| bad(n + 1, "not a number"));
            quota.push(QuotaFigures {
                category: category.to_owned(),
                allocated_grams: allocated.parse().map_err(|_| bad(n + 1, "not a number"))?,
                month_grams: num(month_used)?,
                year_to_date_grams: num(to_date)?,
            });
        }
        let statement = Statement {
            origin,
            enterprise,
            month,
            seal,
            entries,
            root: Hash(root),
            quota,
        };
        if statement.text() != text {
            return Err(bad(0, "the text is not in its one spelling"));
        }
        Ok(statement)
    }

    /// Signs the statement into a signed note with the enterprise's key.
    #[must_use]
    pub fn sign(&self, key: &LogKey) -> String {
        key.sign_note(&self.text())
    }

    /// Parses a signed statement and verifies that one of `keys` signed it
    /// and that no signature on it fails.
    ///
    /// # Errors
    /// [`StatementError`].
    pub fn verify(note: &str, keys: &[LogVerifier]) -> Result<Statement, StatementError> {
        let parsed =
            Note::from_bytes(note.as_bytes()).map_err(|_| StatementError::MalformedNote)?;
        let text = std::str::from_utf8(parsed.text()).map_err(|_| StatementError::MalformedNote)?;
        let statement = Statement::parse_text(text)?;
        match parsed.verify(&KeySet(keys)) {
            Ok((verified, _)) if !verified.is_empty() => Ok(statement),
            Ok(_) | Err(NoteError::UnverifiedNote) => {
                Err(StatementError::UnknownKey(statement.enterprise))
            }
            Err(_) => Err(StatementError::BadSignature),
        }
    }
}

/// The registered keys of an enterprise, as the note's verifiers.
struct KeySet<'a>(&'a [LogVerifier]);

impl Verifiers for KeySet<'_> {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        self.0
            .iter()
            .find(|k| k.name() == name && k.key_id() == id)
            .map(|k| k as &dyn Verifier)
            .ok_or_else(|| VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::root_of;

    fn statement() -> Statement {
        Statement {
            origin: "retrace.example/log".to_owned(),
            enterprise: "91150200MA0N1X2Y3Q".to_owned(),
            month: "2025-03".to_owned(),
            seal: 1,
            entries: 3,
            root: root_of(&[Hash([1; 32]), Hash([2; 32]), Hash([3; 32])]),
            quota: vec![QuotaFigures {
                category: "separation".to_owned(),
                allocated_grams: 1_000_000_000,
                month_grams: -5,
                year_to_date_grams: 700,
            }],
        }
    }

    fn key(seed: u8) -> LogKey {
        LogKey::from_seed("91150200MA0N1X2Y3Q", &[seed; 32]).unwrap()
    }

    #[test]
    fn a_signed_statement_verifies_with_its_key_only() {
        let s = statement();
        let note = s.sign(&key(7));
        assert_eq!(Statement::verify(&note, &[key(7).verifier()]).unwrap(), s);
        assert_eq!(
            Statement::verify(&note, &[key(8).verifier(), key(7).verifier()]).unwrap(),
            s
        );
        assert!(matches!(
            Statement::verify(&note, &[key(8).verifier()]),
            Err(StatementError::UnknownKey(_))
        ));
        assert!(matches!(
            Statement::verify(&note, &[]),
            Err(StatementError::UnknownKey(_))
        ));
    }

    #[test]
    fn any_changed_figure_breaks_the_signature() {
        let note = statement().sign(&key(7));
        for (from, to) in [
            ("entries 3", "entries 2"),
            ("seal 1", "seal 2"),
            ("700\n", "699\n"),
            ("2025-03", "2025-04"),
        ] {
            let forged = note.replacen(from, to, 1);
            assert_ne!(forged, note);
            assert_eq!(
                Statement::verify(&forged, &[key(7).verifier()]),
                Err(StatementError::BadSignature),
                "{from}"
            );
        }
    }

    #[test]
    fn the_text_has_one_spelling() {
        let text = statement().text();
        assert_eq!(Statement::parse_text(&text).unwrap(), statement());
        for bad in [
            text.replace("entries 3", "entries 03"),
            text.replace("quota separation", "quota  separation"),
            text.replace("retrace/month-statement/v1", "retrace/month-statement/v2"),
            text.trim_end().to_owned(),
            text.replace("-5", "-05"),
        ] {
            assert!(Statement::parse_text(&bad).is_err(), "{bad}");
        }
    }
}

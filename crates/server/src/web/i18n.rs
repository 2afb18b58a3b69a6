//! The message catalogue: every string a page shows, in Simplified Chinese
//! (the default, DESIGN.md §2 "Glossary": the UI shows Chinese first) and
//! English.
//!
//! Pages ask for a key ([`Tr::s`]); a key without a message renders as
//! [`MISSING`], which the tests look for on every page in both languages,
//! and the tests below prove that every key named in a template or in this
//! module tree, and every key built from a domain enum, has both messages.
//! Data — enterprise and place names, what an enterprise typed, the
//! parser's explanation of a refused field — is shown as recorded.

use std::collections::HashMap;
use std::sync::LazyLock;

use retrace_access::Language;

pub(crate) use super::messages::MESSAGES;

/// What a key without a message renders as.
pub(crate) const MISSING: &str = "⟦missing message⟧";

static INDEX: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> = LazyLock::new(|| {
    MESSAGES
        .iter()
        .map(|(k, zh, en)| (*k, (*zh, *en)))
        .collect()
});

/// The messages of one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tr {
    language: Language,
}

impl Tr {
    pub(crate) fn new(language: Language) -> Tr {
        Tr { language }
    }

    pub(crate) fn language(self) -> Language {
        self.language
    }

    /// The `lang` attribute of a page in this language.
    pub(crate) fn html_lang(self) -> &'static str {
        match self.language {
            Language::Zh => "zh-CN",
            Language::En => "en",
        }
    }

    /// The other language: the one the switch on every page offers.
    pub(crate) fn other(self) -> Language {
        match self.language {
            Language::Zh => Language::En,
            Language::En => Language::Zh,
        }
    }

    /// The message of `key`.
    pub(crate) fn s(self, key: &str) -> &'static str {
        match INDEX.get(key) {
            Some((zh, en)) => match self.language {
                Language::Zh => zh,
                Language::En => en,
            },
            None => {
                tracing::warn!(key, "a page asked for a message the catalogue lacks");
                MISSING
            }
        }
    }

    /// The message of `key` with `{}` replaced by `value`.
    pub(crate) fn f(self, key: &str, value: impl std::fmt::Display) -> String {
        self.s(key).replacen("{}", &value.to_string(), 1)
    }

    /// The message of `{prefix}.{token}`, for the labels of domain enums.
    pub(crate) fn of(self, prefix: &str, token: &str) -> &'static str {
        self.s(&format!("{prefix}.{token}"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use retrace_domain::enterprise::{EnterpriseKind, Group, QuotaCategory};
    use retrace_domain::facility::Process;
    use retrace_domain::flow::{AdjustReason, FlowKind};
    use retrace_domain::lot::FeedOrigin;
    use retrace_domain::rules::Rule;

    use super::*;

    fn token<T: serde::Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    #[test]
    fn every_key_has_both_languages_once() {
        let mut seen = BTreeSet::new();
        for (key, zh, en) in MESSAGES {
            assert!(seen.insert(*key), "`{key}` is in the catalogue twice");
            assert!(!zh.trim().is_empty(), "`{key}` has no Chinese");
            assert!(!en.trim().is_empty(), "`{key}` has no English");
        }
    }

    /// The string literals of a source that look like keys: lowercase
    /// words joined by dots, the first word one the catalogue uses.
    fn keys_named_in(text: &str) -> Vec<String> {
        let prefixes: BTreeSet<&str> = MESSAGES
            .iter()
            .filter_map(|(k, _, _)| k.split('.').next())
            .collect();
        text.split('"')
            .skip(1)
            .step_by(2)
            .filter(|l| {
                l.contains('.')
                    && ![".html", ".rs", ".js", ".css"]
                        .iter()
                        .any(|x| l.ends_with(x))
                    && !l.ends_with('.')
                    && l.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                    })
                    && l.split('.').next().is_some_and(|p| prefixes.contains(p))
            })
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_key_a_page_names_is_in_the_catalogue() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut named = 0;
        for dir in ["templates", "src/web"] {
            for file in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = file.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                for key in keys_named_in(&text) {
                    named += 1;
                    assert!(
                        INDEX.contains_key(key.as_str()),
                        "{} names `{key}`, which the catalogue lacks",
                        path.display()
                    );
                }
            }
        }
        assert!(named > 100, "only {named} keys found: is the scan broken?");
    }

    #[test]
    fn every_domain_label_is_in_the_catalogue() {
        let mut keys: Vec<String> = Vec::new();
        keys.extend(FlowKind::ALL.iter().map(|k| format!("kind.{}", k.as_str())));
        keys.extend(Rule::ALL.iter().map(|r| format!("rule.{}", r.as_str())));
        for c in [
            QuotaCategory::MiningRock,
            QuotaCategory::MiningIonic,
            QuotaCategory::Separation,
        ] {
            keys.push(format!("category.{c}"));
        }
        for k in [
            EnterpriseKind::Mining,
            EnterpriseKind::Separation,
            EnterpriseKind::MetalSmelting,
            EnterpriseKind::Recycling,
            EnterpriseKind::Importer,
            EnterpriseKind::MagnetMaker,
            EnterpriseKind::Trader,
            EnterpriseKind::Exporter,
        ] {
            keys.push(format!("ekind.{}", token(k)));
        }
        for g in [Group::NorthernRareEarth, Group::ChinaRareEarth] {
            keys.push(format!("group.{}", token(g)));
        }
        for o in [
            FeedOrigin::DomesticOre,
            FeedOrigin::ImportedOre,
            FeedOrigin::Monazite,
            FeedOrigin::ByProduct,
            FeedOrigin::RecycledScrap,
            FeedOrigin::Declared,
        ] {
            keys.push(format!("origin.{}", token(o)));
        }
        for p in [
            Process::OreDressing,
            Process::Cracking,
            Process::Separation,
            Process::MetalSmelting,
            Process::Recycling,
            Process::MagnetMaking,
        ] {
            keys.push(format!("process.{}", token(p)));
        }
        for r in [
            AdjustReason::StockTake,
            AdjustReason::CircuitHoldUp,
            AdjustReason::Loss,
            AdjustReason::Destruction,
            AdjustReason::AssayRevision,
        ] {
            keys.push(format!("adjust.{}", token(r)));
        }
        for r in ["malformed", "unknown", "future", "out_of_range"] {
            keys.push(format!("refusal.{r}"));
        }
        for key in keys {
            assert!(INDEX.contains_key(key.as_str()), "`{key}` is missing");
        }
    }

    #[test]
    fn a_missing_key_is_visible() {
        let t = Tr::new(Language::En);
        assert_eq!(t.s("no.such.key"), MISSING);
        assert_eq!(Tr::new(Language::Zh).s("app.name"), "稀土产品流向追溯系统");
        assert_eq!(t.f("upload.row", 3), "Row 3");
    }
}

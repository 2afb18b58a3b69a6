//! The unified social credit code (统一社会信用代码, USCC) of GB 32100-2015,
//! the identifier of every enterprise on the register.
//!
//! Layout of the 18 characters, each from `0123456789ABCDEFGHJKLMNPQRTUWXY`
//! (no I, O, S, V, Z):
//!
//! | chars | meaning |
//! |---|---|
//! | 1 | registration authority (登记管理部门代码) |
//! | 2 | entity kind under that authority (机构类别代码); enterprises are `91` |
//! | 3–8 | administrative division of the registering office *at registration* (GB/T 2260) |
//! | 9–17 | organisation code (组织机构代码, GB 11714), character 17 its own check |
//! | 18 | check character over 1–17 |
//!
//! A code is issued once for life, so its region is history, not location: a
//! division abolished since only earns a warning ([`Uscc::region_warning`]),
//! and a facility's location is always recorded separately (DESIGN.md §2).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::region::Regions;

/// The characters a USCC may use; a character's value is its index here
/// (GB 32100-2015, 4.2).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of characters 1–17 in the check character: 3^i mod 31
/// (GB 32100-2015, 5.3).
const CHECK_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights of the first eight organisation-code characters (GB 11714).
const ORGANISATION_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Region of a registration at national level. Central government organs and
/// enterprises registered with the national authority carry `100000` (verify),
/// which is no GB/T 2260 division but is not a retired one either.
const NATIONAL_REGISTRATION: &str = "100000";

/// A registration authority and the entity kinds it may assign: Appendix A of
/// GB 32100-2015 with the later assignments `A` (military) and `N`
/// (agriculture, rural collective economic organisations).
struct Authority {
    code: u8,
    name: &'static str,
    kinds: &'static [u8],
}

const AUTHORITIES: [Authority; 12] = [
    authority(b'1', "机构编制", b"1239"),
    authority(b'2', "外交", b"19"),
    authority(b'3', "司法行政", b"123459"),
    authority(b'4', "文化", b"19"),
    authority(b'5', "民政", b"1239"),
    authority(b'6', "旅游", b"129"),
    authority(b'7', "宗教", b"129"),
    authority(b'8', "工会", b"19"),
    authority(b'9', "工商（市场监管）", b"123"),
    authority(b'A', "中央军委改革和编制办公室", b"19"),
    authority(b'N', "农业", b"1239"),
    authority(b'Y', "其他", b"1"),
];

const fn authority(code: u8, name: &'static str, kinds: &'static [u8]) -> Authority {
    Authority { code, name, kinds }
}

/// A valid unified social credit code, parsed once and trusted after.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uscc(String);

/// Which rule of GB 32100-2015 a text breaks. Messages reach a clerk through
/// the API, so each says what to look at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("a unified social credit code has 18 characters (GB 32100-2015); this one has {0}")]
    Length(usize),
    #[error(
        "character {position} (`{found}`) cannot appear in a unified social credit code: only \
         digits and the capital letters A–H, J–N, P, Q, R, T, U, W, X, Y are used (GB 32100-2015)"
    )]
    Character { position: usize, found: char },
    #[error(
        "character 1 (`{0}`) is not a registration authority code of GB 32100-2015: expected one of \
         1–9, A, N, Y (an enterprise registered with market regulation begins with 9)"
    )]
    Authority(char),
    #[error(
        "character 2 (`{found}`) is not an entity kind of registration authority `{authority}` \
         ({authority_name}) under GB 32100-2015: expected one of {allowed} (an enterprise is 91)"
    )]
    Kind {
        authority: char,
        authority_name: &'static str,
        found: char,
        allowed: String,
    },
    #[error(
        "characters 3–8 (`{0}`) must be the six-digit administrative division code of the \
         registering office (GB/T 2260)"
    )]
    Region(String),
    #[error(
        "characters 9–17 are the organisation code (GB 11714), whose own check character \
         (character 17) should be `{expected}` but is `{found}`: the organisation code has a \
         typing error"
    )]
    OrganisationCheck { expected: char, found: char },
    #[error(
        "the check character (character 18) should be `{expected}` but is `{found}` \
         (GB 32100-2015 check): the code has a typing error"
    )]
    Check { expected: char, found: char },
}

/// The registration region of a code is not a current division. A warning,
/// never a rejection: codes keep the region of their first registration for
/// life (GB 32100-2015), and divisions are abolished and renamed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionWarning {
    /// Characters 3–8 of the code.
    pub registration_region: String,
}

impl fmt::Display for RegionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the registration region `{}` in this credit code is not a current administrative \
             division (it may have been abolished or renamed since registration); the code is \
             accepted, and locations must be given separately",
            self.registration_region
        )
    }
}

impl Uscc {
    /// Parses and checks a code: length, alphabet, authority, entity kind,
    /// region digits, the organisation-code check (GB 11714) and the check
    /// character (GB 32100-2015), in that order. The region is not looked
    /// up here; see [`Uscc::region_warning`].
    ///
    /// # Errors
    /// The [`UsccError`] of the first rule broken.
    pub fn parse(text: &str) -> Result<Uscc, UsccError> {
        let count = text.chars().count();
        if count != 18 {
            return Err(UsccError::Length(count));
        }
        if let Some((i, found)) = text.chars().enumerate().find(|(_, c)| value(*c).is_none()) {
            return Err(UsccError::Character {
                position: i + 1,
                found,
            });
        }
        // Every character is now in the ASCII alphabet.
        let b = text.as_bytes();
        let authority = AUTHORITIES
            .iter()
            .find(|a| a.code == b[0])
            .ok_or(UsccError::Authority(char::from(b[0])))?;
        if !authority.kinds.contains(&b[1]) {
            let allowed: Vec<String> = authority
                .kinds
                .iter()
                .map(|k| char::from(*k).to_string())
                .collect();
            return Err(UsccError::Kind {
                authority: char::from(authority.code),
                authority_name: authority.name,
                found: char::from(b[1]),
                allowed: allowed.join(", "),
            });
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(UsccError::Region(text[2..8].to_owned()));
        }
        let expected = organisation_check(&b[8..16]);
        if b[16] != expected {
            return Err(UsccError::OrganisationCheck {
                expected: char::from(expected),
                found: char::from(b[16]),
            });
        }
        let expected = check_character(&b[..17]);
        if b[17] != expected {
            return Err(UsccError::Check {
                expected: char::from(expected),
                found: char::from(b[17]),
            });
        }
        Ok(Uscc(text.to_owned()))
    }

    /// Builds a valid enterprise code (`91`, the given region, an
    /// organisation code derived from `serial` with its check character, and
    /// the check character) for the synthetic demo industry.
    ///
    /// The codes are **invented**: they pass every check but identify no real
    /// enterprise, except by coincidence. Distinct serials give distinct
    /// codes within a region (the serial is written in base 31 over the USCC
    /// alphabet). `region` may be 2, 4 or 6 digits and is zero-padded to six
    /// (`1502` → `150200`).
    ///
    /// # Panics
    /// If `region` is not 2, 4 or 6 ASCII digits — a bug in the caller.
    pub fn synthesize(region: &str, serial: u32) -> Uscc {
        assert!(
            matches!(region.len(), 2 | 4 | 6) && region.bytes().all(|b| b.is_ascii_digit()),
            "Uscc::synthesize needs a 2-, 4- or 6-digit region code, got `{region}`"
        );
        let mut code: Vec<u8> = b"91".to_vec();
        code.extend(region.bytes());
        code.resize(8, b'0');
        let mut body = [b'0'; 8];
        let mut rest = serial;
        for slot in body.iter_mut().rev() {
            *slot = ALPHABET[(rest % 31) as usize];
            rest /= 31;
        }
        code.extend(body);
        code.push(organisation_check(&body));
        code.push(check_character(&code));
        Uscc(code.into_iter().map(char::from).collect())
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Characters 3–8: the division of the registering office at
    /// registration — not necessarily a current division, and never the
    /// location of a facility.
    pub fn registration_region(&self) -> &str {
        &self.0[2..8]
    }

    /// Characters 9–17: the organisation code (GB 11714) with its check.
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }

    /// Whether the code is an enterprise's (`91`, registered with market
    /// regulation), as every obliged enterprise's is.
    pub fn is_enterprise(&self) -> bool {
        self.0.starts_with("91")
    }

    /// A warning when the registration region is not a current division of
    /// `regions` (abolished, renamed, or unknown to the table). National
    /// registrations (`100000`) are not warned about.
    pub fn region_warning(&self, regions: &Regions) -> Option<RegionWarning> {
        let region = self.registration_region();
        if region == NATIONAL_REGISTRATION || regions.parse(region).is_ok() {
            return None;
        }
        Some(RegionWarning {
            registration_region: region.to_owned(),
        })
    }
}

/// The value of a USCC character: its index in [`ALPHABET`].
fn value(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    ALPHABET
        .iter()
        .position(|a| *a == byte)
        .and_then(|i| u32::try_from(i).ok())
}

/// The GB 11714 check character of an eight-character organisation-code body:
/// characters are worth 0–9 and A=10 … Z=35; `11 − (Σ wᵢ·vᵢ mod 11)`, with 10
/// written `X` and 11 written `0`.
fn organisation_check(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(ORGANISATION_WEIGHTS)
        .map(|(c, w)| {
            let v = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A' + 10
            };
            w * u32::from(v)
        })
        .sum();
    match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        d => b'0' + d as u8,
    }
}

/// The GB 32100-2015 check character over characters 1–17:
/// `(31 − Σ wᵢ·vᵢ mod 31) mod 31`, written with [`ALPHABET`].
fn check_character(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(CHECK_WEIGHTS)
        .map(|(c, w)| w * value(char::from(*c)).unwrap_or(0))
        .sum();
    ALPHABET[((31 - sum % 31) % 31) as usize]
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = UsccError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

impl Serialize for Uscc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Uscc {
    /// Goes through [`Uscc::parse`], so a stored or submitted code is checked.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Uscc::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Worked by hand. Organisation code body `05860512`:
    /// 3·0 + 7·5 + 9·8 + 10·6 + 5·0 + 8·5 + 4·1 + 2·2 = 215, 215 mod 11 = 6,
    /// check 11 − 6 = 5. Then over `91150206058605125`: Σ wᵢ·vᵢ = 1063,
    /// 1063 mod 31 = 9, check 31 − 9 = 22 → `N`.
    const BAOTOU: &str = "91150206058605125N";
    /// Body `MA35G2K1` (M=22, A=10, G=16, K=20): Σ = 391, mod 11 = 6, check 5;
    /// Σ over 17 = 1769, mod 31 = 2, check 29 → `X`.
    const GANZHOU: &str = "91360700MA35G2K15X";
    /// The sample code widely used to illustrate GB 32100-2015.
    const SAMPLE: &str = "91350100M000100Y43";

    #[test]
    fn hand_computed_codes_parse() {
        for text in [BAOTOU, GANZHOU, SAMPLE, "93370826123456788L"] {
            let code = Uscc::parse(text).unwrap();
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
        }
        let code = Uscc::parse(BAOTOU).unwrap();
        assert_eq!(code.registration_region(), "150206");
        assert_eq!(code.organisation_code(), "058605125");
        assert!(code.is_enterprise());
        assert!(!Uscc::parse("93370826123456788L").unwrap().is_enterprise());
    }

    #[test]
    fn each_rule_has_its_error() {
        assert_eq!(Uscc::parse("91150206"), Err(UsccError::Length(8)));
        assert_eq!(
            Uscc::parse(&format!("{BAOTOU}0")),
            Err(UsccError::Length(19))
        );
        // Counted in characters, not bytes: a full-width digit is one character.
        assert_eq!(
            Uscc::parse("９1150206058605125N"),
            Err(UsccError::Character {
                position: 1,
                found: '９'
            })
        );
        assert_eq!(
            Uscc::parse("91150206O58605125N"),
            Err(UsccError::Character {
                position: 9,
                found: 'O'
            })
        );
        assert_eq!(
            Uscc::parse("91150206058605125n"),
            Err(UsccError::Character {
                position: 18,
                found: 'n'
            })
        );
        assert_eq!(
            Uscc::parse("B1150206058605125N"),
            Err(UsccError::Authority('B'))
        );
        let kind = Uscc::parse("94150206058605125N").unwrap_err();
        assert_eq!(
            kind,
            UsccError::Kind {
                authority: '9',
                authority_name: "工商（市场监管）",
                found: '4',
                allowed: "1, 2, 3".to_owned(),
            }
        );
        assert!(
            kind.to_string().contains("expected one of 1, 2, 3"),
            "{kind}"
        );
        assert_eq!(
            Uscc::parse("9115A206058605125N"),
            Err(UsccError::Region("15A206".to_owned()))
        );
        assert_eq!(
            Uscc::parse("91150206058605126N"),
            Err(UsccError::OrganisationCheck {
                expected: '5',
                found: '6'
            })
        );
        let check = Uscc::parse("91150206058605125M").unwrap_err();
        assert_eq!(
            check,
            UsccError::Check {
                expected: 'N',
                found: 'M'
            }
        );
        assert!(check.to_string().contains("should be `N` but is `M`"));
    }

    #[test]
    fn organisation_check_writes_ten_as_x_and_eleven_as_zero() {
        // Σ = 3·4 = 12 ≡ 1 → 11 − 1 = 10 → X; Σ = 0 → 11 → 0.
        assert_eq!(organisation_check(b"40000000"), b'X');
        assert_eq!(organisation_check(b"00000000"), b'0');
    }

    #[test]
    fn region_warning_only_for_divisions_not_in_the_table() {
        let regions = Regions::embedded();
        assert_eq!(Uscc::parse(BAOTOU).unwrap().region_warning(regions), None);
        assert_eq!(Uscc::synthesize("150000", 1).region_warning(regions), None);
        assert_eq!(Uscc::synthesize("100000", 1).region_warning(regions), None);
        let retired = Uscc::synthesize("150299", 1);
        let warning = retired.region_warning(regions).unwrap();
        assert_eq!(warning.registration_region, "150299");
        assert!(warning.to_string().contains("150299"));
    }

    #[test]
    fn serde_is_the_plain_string_and_checks_it() {
        let code = Uscc::parse(GANZHOU).unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{GANZHOU}\""));
        assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), code);
        let e = serde_json::from_str::<Uscc>("\"91360700MA35G2K15Y\"").unwrap_err();
        assert!(e.to_string().contains("check character"), "{e}");
        assert_eq!(GANZHOU.parse::<Uscc>().unwrap(), code);
    }

    #[test]
    fn synthesize_pads_the_region_and_keeps_serials_apart() {
        let code = Uscc::synthesize("1502", 0);
        assert_eq!(code.registration_region(), "150200");
        assert_eq!(&code.as_str()[..2], "91");
        assert_ne!(
            Uscc::synthesize("150206", u32::MAX),
            Uscc::synthesize("150206", u32::MAX - 1)
        );
        assert_eq!(
            Uscc::synthesize("150206", 31).organisation_code()[..8],
            *"00000010"
        );
    }

    proptest! {
        #[test]
        fn synthesized_codes_parse(region in "[0-9]{6}", serial in any::<u32>()) {
            let code = Uscc::synthesize(&region, serial);
            prop_assert_eq!(Uscc::parse(code.as_str()), Ok(code.clone()));
            prop_assert_eq!(code.registration_region(), region.as_str());
        }

        /// The check character is a weighted sum modulo the prime 31 whose
        /// weights are all non-zero, so every single substitution changes it:
        /// no changed code may parse.
        #[test]
        fn any_single_substitution_is_rejected(
            region in "[0-9]{6}",
            serial in any::<u32>(),
            position in 0usize..18,
            replacement in prop::sample::select(
                "0123456789ABCDEFGHJKLMNPQRTUWXYIOSVZa-".chars().collect::<Vec<_>>()
            ),
        ) {
            let code = Uscc::synthesize(&region, serial);
            let mut chars: Vec<char> = code.as_str().chars().collect();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert!(Uscc::parse(&changed).is_err(), "{} was accepted", changed);
        }
    }
}

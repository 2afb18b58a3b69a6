//! API tokens for ERP integration (issue 3 §3; Art. 11 network and data
//! security): shown once, stored hashed, scoped to a role, with expiry and
//! revocation.
//!
//! A token reads `rt_` + an 8-character id + `_` + 43 characters of secret:
//! the id is 6 random bytes and the secret 32 random bytes (256 bits), both
//! base64url (RFC 4648 §5) without padding, 55 characters in all. The id is
//! not secret: it finds the stored token, and names it in lists and in the
//! audit trail. The store keeps the SHA-256 of the whole token
//! ([`SecretDigest`], which says why a fast hash is right here), never the
//! token. The `rt_` prefix lets secret scanners and people recognise a leaked
//! token.

use std::fmt;

use rand_core::CryptoRngCore;
use time::{Duration, OffsetDateTime};

use crate::account::{AccountName, Principal};
use crate::capability::{Denied, GrantRoles};
use crate::role::Role;
use crate::secret::{self, SecretDigest};

/// What every token begins with.
pub const PREFIX: &str = "rt_";
/// Random bytes in the id: 48 bits, 8 characters. Ids are for lookup, not
/// security; the store keeps them unique and generates again on a clash.
const ID_BYTES: usize = 6;
const ID_CHARS: usize = 8;
/// Random bytes in the secret: 256 bits, 43 characters.
const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43;
/// The longest a token may live: a year and a day, so an ERP connection is
/// renewed once a quota year and a leaked token dies on its own.
pub const MAX_LIFETIME: Duration = Duration::days(366);
/// Longest label, in characters.
const LABEL_CHARS: usize = 100;

/// The public id of a token.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId(String);

impl TokenId {
    /// Reads an id, e.g. from the path of a revocation request.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] unless it is 8 base64url characters.
    pub fn parse(text: &str) -> Result<TokenId, TokenError> {
        if text.len() == ID_CHARS && secret::is_base64url(text) {
            Ok(TokenId(text.to_owned()))
        } else {
            Err(TokenError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for TokenId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A token as presented by a client, or as just generated to be shown once.
/// `Debug` shows the id only. No `PartialEq`: tokens are compared only by
/// [`ApiToken::verify`], in constant time.
#[derive(Clone)]
pub struct ApiToken {
    id: TokenId,
    text: String,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("secret", &"…")
            .finish()
    }
}

/// What a new token is for: the account it acts as, the role it acts in
/// (which may be narrower than the account's), a label the issuer chooses
/// ("ERP production, Kingdee"), and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    pub account: AccountName,
    pub role: Role,
    pub label: String,
    pub expires_at: OffsetDateTime,
}

/// A token as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub id: TokenId,
    /// SHA-256 of the whole token text.
    pub digest: SecretDigest,
    pub account: AccountName,
    pub role: Role,
    pub label: String,
    /// Who issued it (Art. 15).
    pub issued_by: AccountName,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Why a presented token does not authenticate. Every variant is answered
/// 401; expiry and revocation are told only to whoever proved the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not a retrace API token: expected `rt_` followed by 52 characters")]
    Malformed,
    /// Also the answer for an id the store does not know.
    #[error("the API token is not valid")]
    Invalid,
    #[error("the API token expired at {0}; ask your enterprise manager for a new one")]
    Expired(OffsetDateTime),
    #[error("the API token was revoked at {0}")]
    Revoked(OffsetDateTime),
}

/// Why a token cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("field `expires_at`: a token must expire after it is issued and within 366 days")]
    Expiry,
    #[error(
        "field `label`: give the token a label of 1 to 100 characters, without control characters"
    )]
    Label,
}

impl ApiToken {
    /// Issues a token: returns the token, to be shown once and then dropped,
    /// and the form to store. `issuer` is the handle that may give the
    /// grant's role: the enterprise manager for its own enterprise's roles,
    /// or the administrator for any.
    ///
    /// # Errors
    /// [`GrantError::Denied`] if the issuer may not give the role,
    /// [`GrantError::Expiry`] unless it expires within [`MAX_LIFETIME`] of
    /// `now`, [`GrantError::Label`] for an empty or overlong label.
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        issuer: &impl GrantRoles,
        grant: TokenGrant,
        now: OffsetDateTime,
    ) -> Result<(ApiToken, StoredToken), GrantError> {
        issuer.may_grant(&grant.role)?;
        if grant.expires_at <= now || grant.expires_at > now + MAX_LIFETIME {
            return Err(GrantError::Expiry);
        }
        let label = grant.label.trim();
        if label.is_empty()
            || label.chars().count() > LABEL_CHARS
            || label.chars().any(char::is_control)
        {
            return Err(GrantError::Label);
        }
        let mut id = [0u8; ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        rng.fill_bytes(&mut id);
        rng.fill_bytes(&mut secret);
        let id = TokenId(secret::encode(&id));
        let text = format!("{PREFIX}{id}_{}", secret::encode(&secret));
        let stored = StoredToken {
            id: id.clone(),
            digest: SecretDigest::of(text.as_bytes()),
            account: grant.account,
            role: grant.role,
            label: label.to_owned(),
            issued_by: issuer.principal().account().clone(),
            created_at: now,
            expires_at: grant.expires_at,
            revoked_at: None,
        };
        Ok((ApiToken { id, text }, stored))
    }

    /// Reads a presented token (the `Authorization: Bearer` value), to look
    /// up its stored form by [`ApiToken::id`].
    ///
    /// # Errors
    /// [`TokenError::Malformed`] unless it has the shape of a retrace token.
    pub fn parse(presented: &str) -> Result<ApiToken, TokenError> {
        let rest = presented
            .strip_prefix(PREFIX)
            .ok_or(TokenError::Malformed)?;
        if rest.len() != ID_CHARS + 1 + SECRET_CHARS || !rest.is_char_boundary(ID_CHARS) {
            return Err(TokenError::Malformed);
        }
        let (id, secret) = rest.split_at(ID_CHARS);
        let secret = secret.strip_prefix('_').ok_or(TokenError::Malformed)?;
        if !secret::is_base64url(secret) {
            return Err(TokenError::Malformed);
        }
        Ok(ApiToken {
            id: TokenId::parse(id)?,
            text: presented.to_owned(),
        })
    }

    /// The id, to find the stored token.
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    /// The token text, to show the user once when it is issued.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }

    /// Checks the token against its stored form at `now`: the digest first,
    /// in constant time, then revocation and expiry — so that only whoever
    /// holds the secret learns that a token expired or was revoked.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for a wrong secret or a stored token of
    /// another id; [`TokenError::Revoked`]; [`TokenError::Expired`] from
    /// `expires_at` on.
    pub fn verify(
        &self,
        stored: &StoredToken,
        now: OffsetDateTime,
    ) -> Result<Principal, TokenError> {
        let presented = SecretDigest::of(self.text.as_bytes());
        if !presented.ct_eq(&stored.digest) || self.id != stored.id {
            return Err(TokenError::Invalid);
        }
        if let Some(at) = stored.revoked_at {
            return Err(TokenError::Revoked(at));
        }
        if now >= stored.expires_at {
            return Err(TokenError::Expired(stored.expires_at));
        }
        Ok(Principal::new(stored.account.clone(), stored.role.clone()))
    }
}

impl StoredToken {
    /// Revokes the token at `now`, for good: it stops working with the next
    /// request that reads it. Whoever may give the token's role may revoke
    /// it. Revoking twice keeps the first time.
    ///
    /// # Errors
    /// [`Denied`] if `by` may not give the token's role.
    pub fn revoke(&mut self, by: &impl GrantRoles, now: OffsetDateTime) -> Result<(), Denied> {
        by.may_grant(&self.role)?;
        self.revoked_at.get_or_insert(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::ManageEnterpriseUsers;
    use crate::role::tests::BAOTOU;
    use proptest::prelude::*;
    use rand_core::OsRng;
    use retrace_domain::uscc::Uscc;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-09 10:00 +08:00);

    fn manager() -> ManageEnterpriseUsers {
        Principal::new(
            AccountName::parse("li.na").unwrap(),
            Role::parse(&format!("enterprise_manager:{BAOTOU}")).unwrap(),
        )
        .manage_enterprise_users(&Uscc::parse(BAOTOU).unwrap())
        .unwrap()
    }

    fn grant() -> TokenGrant {
        TokenGrant {
            account: AccountName::parse("erp-baotou").unwrap(),
            role: Role::parse(&format!("enterprise_operator:{BAOTOU}")).unwrap(),
            label: "  ERP production, Kingdee ".to_owned(),
            expires_at: NOW + Duration::days(90),
        }
    }

    fn issue() -> (ApiToken, StoredToken) {
        ApiToken::generate(&mut OsRng, &manager(), grant(), NOW).unwrap()
    }

    #[test]
    fn a_token_verifies_as_its_account_and_role() {
        let (token, stored) = issue();
        let text = token.expose_secret();
        assert_eq!(text.len(), 55);
        assert!(text.starts_with("rt_"));
        assert_eq!(&text[11..12], "_");
        assert_eq!(stored.id, *token.id());
        assert_eq!(stored.label, "ERP production, Kingdee");
        assert_eq!(stored.issued_by.as_str(), "li.na");
        assert_eq!(stored.digest, SecretDigest::of(text.as_bytes()));

        let presented = ApiToken::parse(text).unwrap();
        assert_eq!(presented.id(), token.id());
        let p = presented.verify(&stored, NOW + Duration::days(1)).unwrap();
        assert_eq!(p.account().as_str(), "erp-baotou");
        assert_eq!(p.role(), &grant().role);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let (token, stored) = issue();
        let secret = &token.expose_secret()[12..];
        for debug in [
            format!("{token:?}"),
            format!("{stored:?}"),
            format!("{:?}", (&token, &stored)),
        ] {
            assert!(!debug.contains(secret), "{debug}");
            assert!(!debug.contains(&stored.digest.to_hex()), "{debug}");
        }
        assert!(format!("{token:?}").contains(token.id().as_str()));
    }

    #[test]
    fn expiry_and_revocation_stop_it_at_once() {
        let (token, mut stored) = issue();
        let expiry = stored.expires_at;
        assert!(token.verify(&stored, expiry - Duration::seconds(1)).is_ok());
        assert_eq!(
            token.verify(&stored, expiry),
            Err(TokenError::Expired(expiry))
        );

        stored.revoke(&manager(), NOW + Duration::hours(1)).unwrap();
        stored.revoke(&manager(), NOW + Duration::hours(2)).unwrap();
        assert_eq!(
            token.verify(&stored, NOW + Duration::hours(1)),
            Err(TokenError::Revoked(NOW + Duration::hours(1)))
        );

        // Neither is told to someone without the secret.
        let (other, _) = issue();
        let forged = ApiToken {
            id: stored.id.clone(),
            text: format!("rt_{}{}", stored.id, &other.expose_secret()[11..]),
        };
        assert_eq!(forged.verify(&stored, NOW), Err(TokenError::Invalid));
        assert_eq!(other.verify(&stored, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn issuing_is_bounded_by_the_issuer_and_the_calendar() {
        let other = TokenGrant {
            role: Role::parse("enterprise_operator:91360700MA35G2K15X").unwrap(),
            ..grant()
        };
        assert!(matches!(
            ApiToken::generate(&mut OsRng, &manager(), other, NOW),
            Err(GrantError::Denied(_))
        ));
        for expires_at in [
            NOW,
            NOW - Duration::days(1),
            NOW + MAX_LIFETIME + Duration::seconds(1),
        ] {
            let g = TokenGrant {
                expires_at,
                ..grant()
            };
            assert_eq!(
                ApiToken::generate(&mut OsRng, &manager(), g, NOW).unwrap_err(),
                GrantError::Expiry
            );
        }
        let longest = TokenGrant {
            expires_at: NOW + MAX_LIFETIME,
            ..grant()
        };
        assert!(ApiToken::generate(&mut OsRng, &manager(), longest, NOW).is_ok());
        for label in ["", "   ", "ERP\nprod", &"x".repeat(101)] {
            let g = TokenGrant {
                label: label.to_owned(),
                ..grant()
            };
            assert_eq!(
                ApiToken::generate(&mut OsRng, &manager(), g, NOW).unwrap_err(),
                GrantError::Label,
                "{label:?}"
            );
        }
        let (_, mut stored) = issue();
        let outsider = Principal::new(
            AccountName::parse("someone").unwrap(),
            Role::parse("enterprise_manager:91360700MA35G2K15X").unwrap(),
        )
        .manage_enterprise_users(&Uscc::parse("91360700MA35G2K15X").unwrap())
        .unwrap();
        assert!(stored.revoke(&outsider, NOW).is_err());
        assert_eq!(stored.revoked_at, None);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (token, _) = issue();
        let text = token.expose_secret();
        let cases = [
            String::new(),
            text[3..].to_owned(),
            format!("RT_{}", &text[3..]),
            text[..54].to_owned(),
            format!("{text}A"),
            format!("{}.{}", &text[..11], &text[12..]),
            format!("{}+{}", &text[..20], &text[21..]),
            format!("{}é{}", &text[..20], &text[22..]),
            format!("rt_abc/defg_{}", &text[12..]),
        ];
        for bad in cases {
            assert!(
                matches!(ApiToken::parse(&bad), Err(TokenError::Malformed)),
                "{bad}"
            );
        }
        assert_eq!(TokenId::parse("abc"), Err(TokenError::Malformed));
        assert_eq!(TokenId::parse(token.id().as_str()).unwrap(), *token.id());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Changing any one bit of a token leaves nothing that verifies.
        #[test]
        fn a_single_bit_change_never_verifies(position in 0usize..55, bit in 0u8..7) {
            let (token, stored) = issue();
            let mut bytes = token.expose_secret().as_bytes().to_vec();
            bytes[position] ^= 1 << bit;
            let changed = String::from_utf8(bytes).unwrap();
            if let Ok(presented) = ApiToken::parse(&changed) {
                prop_assert!(presented.verify(&stored, NOW).is_err());
            }
        }
    }
}

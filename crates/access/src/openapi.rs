//! OpenAPI schemas (feature `openapi`) of the identity values that travel as
//! text, described by the rules they are checked against.

use std::borrow::Cow;

use retrace_domain::openapi::text;
use utoipa::openapi::{RefOr, Schema};

use crate::account::AccountName;
use crate::role::Role;
use crate::token::TokenId;

impl utoipa::PartialSchema for AccountName {
    fn schema() -> RefOr<Schema> {
        text(
            "A login name: 3 to 64 of a–z, 0–9, `.`, `_`, `-`, starting with a letter or digit (case-insensitive).",
            Some("^[a-z0-9][a-z0-9._-]{2,63}$"),
            "zhang.wei",
        )
    }
}

impl utoipa::ToSchema for AccountName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AccountName")
    }
}

impl utoipa::PartialSchema for Role {
    fn schema() -> RefOr<Schema> {
        text(
            "A role: `enterprise_operator:<USCC>`, `enterprise_manager:<USCC>`, `group_manager:<northern_rare_earth|china_rare_earth>`, `regulator:<county|prefecture|province|ministry>:<region>:<industry_it|natural_resources|development_reform>`, `inspector:<region>`, `auditor:<region>` (`auditor:00` national) or `administrator`.",
            None,
            "regulator:prefecture:1502:industry_it",
        )
    }
}

impl utoipa::ToSchema for Role {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Role")
    }
}

impl utoipa::PartialSchema for TokenId {
    fn schema() -> RefOr<Schema> {
        text(
            "The public id of an API token: 8 base64url characters.",
            Some("^[A-Za-z0-9_-]{8}$"),
            "Q3x9-aB_",
        )
    }
}

impl utoipa::ToSchema for TokenId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TokenId")
    }
}

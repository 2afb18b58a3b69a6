//! Query parameters: parsed once, each error naming its parameter.

use std::fmt::Display;
use std::str::FromStr;

use retrace_store::PageRequest;

use crate::problem::ApiError;

/// Items per page when the caller does not say (the store allows up to
/// `retrace_store::MAX_PAGE`).
pub(crate) const DEFAULT_LIMIT: usize = 100;

/// The value of an optional parameter; a blank value counts as absent, so that a form or a
/// template like `?enterprise=&lot=…` works as written.
pub(crate) fn optional<T>(name: &'static str, value: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: FromStr,
    T::Err: Display,
{
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e| ApiError::parameter(name, e)),
        None => Ok(None),
    }
}

/// The value of a required parameter.
pub(crate) fn required<T>(name: &'static str, value: Option<&str>) -> Result<T, ApiError>
where
    T: FromStr,
    T::Err: Display,
{
    optional(name, value)?.ok_or_else(|| ApiError::parameter(name, "is required"))
}

/// The page a listing asks for: after the cursor, at most `limit` items.
pub(crate) fn page(after: Option<String>, limit: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit: usize = optional("limit", limit)?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 {
        return Err(ApiError::parameter("limit", "must be at least 1"));
    }
    Ok(PageRequest {
        after: after.filter(|a| !a.is_empty()),
        limit,
    })
}

/// A calendar month, `YYYY-MM`, the key flags and reports are filed under (Asia/Shanghai).
pub(crate) fn month(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let ok = text.len() == 7
        && text.as_bytes()[4] == b'-'
        && text[..4].bytes().all(|b| b.is_ascii_digit())
        && text[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if ok {
        Ok(Some(text.to_owned()))
    } else {
        Err(ApiError::parameter(
            "month",
            format!("`{text}` is not a month: write YYYY-MM"),
        ))
    }
}

//! What every page needs to become an answer: rendering with the headers of
//! a page, and the few ways figures and times are written on one.

use askama::Template;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use retrace_domain::quantity::Mass;
use time::{OffsetDateTime, UtcOffset};

use super::PageError;
use crate::auth::Subjects;

/// Asia/Shanghai, the offset every time on a page is shown in (DESIGN.md §2
/// "Calendar").
pub(crate) const SHANGHAI: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The headers of every page: never cached (pages carry scoped data and the
/// session's CSRF token), scripts and styles only from this server, not to
/// be framed.
pub(crate) fn page_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ]
}

/// Renders a page.
///
/// # Errors
/// [`PageError::Internal`] when the template fails (logged).
pub(crate) fn render(page: &impl Template) -> Result<Response, PageError> {
    let html = page.render().map_err(PageError::internal)?;
    Ok((page_headers(), Html(html)).into_response())
}

/// Renders a page that shows the data of `subjects`, for the audit trail.
///
/// # Errors
/// As [`render`].
pub(crate) fn render_for(page: &impl Template, subjects: Subjects) -> Result<Response, PageError> {
    Ok(crate::with_subjects(render(page)?, subjects))
}

/// Tonnes with three decimals, the unit of quotas and reports.
pub(crate) fn tonnes(grams: i64) -> String {
    let sign = if grams < 0 { "−" } else { "" };
    format!("{sign}{}", Mass::from_grams(grams.unsigned_abs()).tonnes())
}

/// A moment as a clerk reads it: `2025-03-04 10:00` in Asia/Shanghai.
pub(crate) fn moment(at: OffsetDateTime) -> String {
    let at = at.to_offset(SHANGHAI);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// An RFC 3339 time from the store, as [`moment`] writes it (the text
/// itself when it does not parse).
pub(crate) fn moment_text(rfc3339: &str) -> String {
    OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map_or_else(|_| rfc3339.to_owned(), moment)
}

/// A value for a URL query, percent-encoded.
pub(crate) fn query_escape(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A lot id in a page's path: its slashes kept, everything else encoded.
pub(crate) fn lot_path(lot: &str) -> String {
    lot.split('/')
        .map(query_escape)
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `back` is a path of this site to return to (never another
/// site's: `//host` and `/\host` are refused).
pub(crate) fn local_path(back: &str) -> Option<&str> {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.starts_with("/\\")
        && !back.chars().any(char::is_control);
    ok.then_some(back)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path("/stock?x=1"), Some("/stock?x=1"));
        assert_eq!(local_path("//evil.example/"), None);
        assert_eq!(local_path("/\\evil.example"), None);
        assert_eq!(local_path("https://evil.example/"), None);
        assert_eq!(local_path("/a\nb"), None);
    }

    #[test]
    fn figures_read_as_on_a_report() {
        assert_eq!(tonnes(1_234_567), "1.235");
        assert_eq!(tonnes(-500_000), "−0.500");
        assert_eq!(
            moment(time::macros::datetime!(2025-03-04 02:00 UTC)),
            "2025-03-04 10:00"
        );
        assert_eq!(lot_path("uscc/X/10/A B"), "uscc/X/10/A%20B");
    }
}

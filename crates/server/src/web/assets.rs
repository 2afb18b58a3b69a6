//! The scripts and the style sheet of the pages, embedded in the binary so
//! that the server needs nothing beside itself. htmx is the release from the
//! npm registry that `tests/browser/package-lock.json` pins, copied into
//! `assets/` by `tests/browser/vendor.sh` and committed; nothing is fetched
//! at build or run time. Pages link each asset with its content hash in the
//! query ([`url`]), so its answer can be cached for a year: a new release
//! links a new URL.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use retrace_ledger::hash::leaf_hash;

use super::PageError;

/// An embedded file and its media type.
struct Asset {
    name: &'static str,
    media: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "htmx.min.js",
        media: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/htmx.min.js"),
    },
    Asset {
        name: "app.js",
        media: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/app.js"),
    },
    Asset {
        name: "app.css",
        media: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/app.css"),
    },
];

/// The first 16 hex digits of an asset's SHA-256-based leaf hash.
fn version(asset: &Asset) -> String {
    leaf_hash(asset.bytes).to_string()[..16].to_owned()
}

/// The URL a page links an asset by: its name and its content's version.
pub(crate) fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => format!("/assets/{name}?v={}", version(asset)),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`.
pub(crate) async fn serve(
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or(PageError::NotFound)?;
    let etag = format!("\"{}\"", version(asset));
    let cache = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).map_err(PageError::internal)?,
        ),
    ];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((
        cache,
        [(header::CONTENT_TYPE, HeaderValue::from_static(asset.media))],
        asset.bytes,
    )
        .into_response())
}

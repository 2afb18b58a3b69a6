//! JSON bodies of the endpoints that are not batches of records: parsed into
//! their type once, with an error that names the field (issue 3 §5: bad
//! input gets a clear 4xx naming what is wrong).

use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// The largest body an endpoint other than batch capture reads.
pub const MAX_SMALL_BODY: usize = 64 * 1024;

/// Parses a JSON body into `T`, naming the field of the first error.
///
/// # Errors
/// [`ApiError::Body`] with the path of the offending field and why.
pub(crate) fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError::Body {
            field: (path != ".").then(|| path.clone()),
            message: if path == "." {
                format!("the body is not what this endpoint takes: {inner}")
            } else {
                format!("field `{path}`: {inner}")
            },
        }
    })?;
    de.end().map_err(|e| ApiError::Body {
        field: None,
        message: format!("the body goes on after its JSON value: {e}"),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "the fields are only parsed")]
    struct Thing {
        name: String,
        count: u32,
    }

    #[test]
    fn errors_name_the_field() {
        match json::<Thing>(br#"{"name": "a", "count": "x"}"#) {
            Err(ApiError::Body { field, message }) => {
                assert_eq!(field.as_deref(), Some("count"));
                assert!(message.contains("count"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match json::<Thing>(br#"{"name": "a", "count": 1, "extra": 2}"#) {
            Err(ApiError::Body { message, .. }) => assert!(message.contains("extra"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(json::<Thing>(b"{"), Err(ApiError::Body { .. })));
        assert!(matches!(
            json::<Thing>(br#"{"name": "a", "count": 1} []"#),
            Err(ApiError::Body { .. })
        ));
        assert_eq!(
            json::<Thing>(br#"{"name": "a", "count": 1}"#)
                .unwrap()
                .count,
            1
        );
    }
}

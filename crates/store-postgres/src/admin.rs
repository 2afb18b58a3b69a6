//! Making and dropping whole databases on a server: what the benchmark and
//! the tests do to measure and test on a database of their own.

use retrace_store::StoreError;

use crate::connection::Conn;
use crate::store::{off_runtime, parse_url};

/// The URL of database `name` on the server of `server` (a `postgres://` URL
/// naming any database there): the same URL with its path replaced.
pub fn database_url(server: &str, name: &str) -> String {
    let (scheme, rest) = server.split_once("://").unwrap_or(("postgres", server));
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(a, _)| a);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::BadRequest(format!(
            "`{name}` is not a database name made of a-z, 0-9 and _"
        )));
    }
    Ok(())
}

/// Creates database `name` on the server of `server` and answers its URL.
///
/// # Errors
/// [`StoreError::Internal`] when the server refuses (the database exists,
/// the role may not create databases, …).
pub fn create_database(server: &str, name: &str) -> Result<String, StoreError> {
    check_name(name)?;
    let config = parse_url(server)?;
    let sql = format!("CREATE DATABASE {name}");
    off_runtime(move || Ok(Conn::connect(&config)?.batch(&sql)?))?;
    Ok(database_url(server, name))
}

/// Drops database `name` on the server of `server`, closing its connections.
///
/// # Errors
/// [`StoreError::Internal`] when the server refuses.
pub fn drop_database(server: &str, name: &str) -> Result<(), StoreError> {
    check_name(name)?;
    let config = parse_url(server)?;
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    off_runtime(move || Ok(Conn::connect(&config)?.batch(&sql)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_keeps_the_server_and_its_options() {
        assert_eq!(
            database_url(
                "postgres://u:p@localhost:5432/postgres?sslmode=disable",
                "b"
            ),
            "postgres://u:p@localhost:5432/b?sslmode=disable"
        );
        assert_eq!(
            database_url("postgresql://%2Fvar%2Frun%2Fpostgresql", "b"),
            "postgresql://%2Fvar%2Frun%2Fpostgresql/b"
        );
    }

    #[test]
    fn only_plain_names_are_made() {
        assert!(check_name("retrace_bench_1").is_ok());
        assert!(check_name("x; DROP TABLE y").is_err());
    }
}

//! A PostgreSQL database of a test's own, and the binary run against it.
//! Skipped with a message when no server is reachable; under `CI=true` a
//! skip fails.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]

use std::path::Path;
use std::process::{Command, Output};

const SERVER_VAR: &str = "RETRACE_TEST_POSTGRES";
const DEFAULT_SERVER: &str = "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres";

/// The binary with `--data DIR`, on `database` if given (else the data
/// directory's embedded store).
pub fn command(data: &Path, database: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrace"));
    command
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .env_remove("RETRACE_DATABASE_URL");
    if let Some(url) = database {
        command.env("RETRACE_DATABASE_URL", url);
    }
    command
}

pub fn retrace(data: &Path, database: Option<&str>, args: &[&str]) -> Output {
    command(data, database)
        .args(args)
        .output()
        .expect("the retrace binary runs")
}

pub fn ok(data: &Path, database: Option<&str>, args: &[&str]) -> String {
    let out = retrace(data, database, args);
    assert!(
        out.status.success(),
        "retrace {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A database of the test's own on the server, dropped when it ends.
pub struct Db {
    server: String,
    name: String,
    pub url: String,
}

impl Db {
    pub fn create(test: &str) -> Option<Db> {
        let server = std::env::var(SERVER_VAR).unwrap_or_else(|_| DEFAULT_SERVER.to_owned());
        let name = format!("retrace_{test}_{}", std::process::id());
        match retrace_store_postgres::create_database(&server, &name) {
            Ok(url) => Some(Db { server, name, url }),
            Err(e) => {
                let message = format!("SKIPPED {test}: PostgreSQL is not reachable ({e})");
                let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
                assert!(
                    !in_ci,
                    "{message}; under CI=true a skipped PostgreSQL test is a failure"
                );
                eprintln!("{message}");
                None
            }
        }
    }

    /// The database's URL with an application name, which names a node in
    /// `pg_stat_activity`.
    pub fn url_as(&self, application: &str) -> String {
        format!("{}?application_name={application}", self.url)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = retrace_store_postgres::drop_database(&self.server, &self.name) {
            eprintln!("could not drop {}: {e}", self.name);
        }
    }
}

/// The first administrator's password in these tests (`retrace init` reads
/// it from `RETRACE_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "Quartz-Harbor-Lantern-42";

/// `retrace init` on `database`, with the first administrator `admin`.
pub fn init(data: &Path, database: Option<&str>) -> String {
    let out = command(data, database)
        .env("RETRACE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .arg("init")
        .output()
        .expect("the retrace binary runs");
    assert!(
        out.status.success(),
        "retrace init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// An HTTP answer: status, headers (names in lowercase) and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 exchange over a fresh connection; `None` when the node
/// cannot be reached or does not answer in time.
pub fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<Answer> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .ok()?;
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    })
}

/// Logs in as `account` over HTTP; answers the session cookie and its CSRF token.
pub fn login(address: &str, account: &str, password: &str) -> (String, String) {
    let body = serde_json::json!({"account": account, "password": password}).to_string();
    let answer = http(address, "POST", "/api/v1/session", &[], &body).expect("the node answers");
    assert_eq!(answer.status, 201, "logging in as {account}: {answer:?}");
    let cookie = answer
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let csrf = answer.body["csrf_token"]
        .as_str()
        .expect("the session's CSRF token")
        .to_owned();
    (cookie, csrf)
}

/// As the first administrator, over HTTP: makes `name` an operator of
/// `enterprise` and issues it an API token, which it answers.
pub fn operator_token(address: &str, name: &str, enterprise: &str) -> String {
    let (cookie, csrf) = login(address, "admin", ADMIN_PASSWORD);
    let headers = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let account = serde_json::json!({
        "name": name,
        "role": format!("enterprise_operator:{enterprise}"),
        "password": ADMIN_PASSWORD,
    })
    .to_string();
    let made = http(address, "POST", "/api/v1/accounts", &headers, &account).unwrap();
    assert_eq!(made.status, 201, "creating {name}: {made:?}");
    let grant = serde_json::json!({"account": name, "label": "test"}).to_string();
    let issued = http(address, "POST", "/api/v1/tokens", &headers, &grant).unwrap();
    assert_eq!(issued.status, 201, "issuing a token to {name}: {issued:?}");
    issued.body["token"].as_str().expect("the token").to_owned()
}

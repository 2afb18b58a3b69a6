//! Authentication end to end (issue 3 §3, §4): password logins and their
//! throttling, cookie sessions with idle and absolute expiry and rotation at
//! login, CSRF on cookie requests that change something, API tokens revoked
//! at once, the password policy, the audit trail of who read what, and HTTPS.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode, header};
use common::{App, Credentials, PASSWORD, Session, extract};
use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::hash::{Hash, leaf_hash};
use retrace_ledger::proof::verify_inclusion;
use retrace_store::conformance::parties;
use serde_json::json;
use time::Duration;

fn cookie_attributes(answer: &common::Answer) -> String {
    answer
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_login_starts_a_session_with_a_strict_cookie() {
    let app = App::start().await;
    let answer = app.try_login("miner.clerk", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let cookie = cookie_attributes(&answer);
    for attribute in ["retrace_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "no Secure on plain HTTP: {cookie}"
    );
    assert_eq!(
        answer.headers.get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    let body = answer.json();
    assert_eq!(body["account"], "miner.clerk");
    assert_eq!(
        body["role"],
        format!("enterprise_operator:{}", parties().miner)
    );
    let session = app.login("miner.clerk", PASSWORD).await;
    let me = app
        .send_as(
            &session.credentials(),
            Method::GET,
            "/session",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["csrf_token"], session.csrf);
    let logout = app
        .send_as(
            &session.credentials(),
            Method::DELETE,
            "/session",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert!(cookie_attributes(&logout).contains("Max-Age=0"));
    let after = app
        .send_as(&session.credentials(), Method::GET, "/me", None, Vec::new())
        .await;
    after.problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_get_the_same_answer() {
    let app = App::start().await;
    let wrong = app.try_login("miner.clerk", "Not-The-Password-1").await;
    let unknown = app.try_login("nobody.at.all", "Not-The-Password-1").await;
    let (a, b) = (
        wrong.problem(StatusCode::UNAUTHORIZED),
        unknown.problem(StatusCode::UNAUTHORIZED),
    );
    assert_eq!(a["detail"], b["detail"]);
    assert_eq!(a["detail_zh"], "账号或密码错误");
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));
}

#[tokio::test]
async fn a_login_never_keeps_the_session_it_came_with() {
    let app = App::start().await;
    let planted = app.login("miner.clerk", PASSWORD).await;
    let answer = app
        .send_with(
            &Credentials::None,
            Method::POST,
            "/session",
            Some("application/json"),
            &[("cookie", planted.cookie.as_str())],
            json!({"account": "miner.clerk", "password": PASSWORD})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let fresh = cookie_attributes(&answer);
    assert!(
        !fresh.starts_with(&planted.cookie),
        "a new id at every login"
    );
    let old = app
        .send_as(&planted.credentials(), Method::GET, "/me", None, Vec::new())
        .await;
    old.problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_requests_that_change_something_need_the_csrf_token() {
    let app = App::with_fixture().await;
    let session = app.login("miner.clerk", PASSWORD).await;
    let batch = json!([extract("ORE-2507-01", "5 t")]).to_string();
    let size = app.size().await;
    for csrf in [None, Some("forged-token".to_owned()), {
        let other = app.login("separator.clerk", PASSWORD).await;
        Some(other.csrf)
    }] {
        let who = Credentials::Session {
            cookie: session.cookie.clone(),
            csrf,
        };
        let answer = app
            .send_as(
                &who,
                Method::POST,
                "/events",
                Some("application/json"),
                batch.clone().into_bytes(),
            )
            .await;
        let problem = answer.problem(StatusCode::FORBIDDEN);
        assert_eq!(problem["type"], "urn:retrace:problem:csrf");
    }
    assert_eq!(app.size().await, size, "nothing recorded without the token");
    // A form post carries it in the `csrf` field instead.
    let form = format!("csrf={}&x=1", session.csrf.replace('+', "%2B"));
    let answer = app
        .send_as(
            &Credentials::Session {
                cookie: session.cookie.clone(),
                csrf: None,
            },
            Method::PATCH,
            "/me",
            Some("application/x-www-form-urlencoded"),
            form.into_bytes(),
        )
        .await;
    assert_ne!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text());
    let answer = app
        .send_as(
            &session.credentials(),
            Method::POST,
            "/events",
            Some("application/json"),
            batch.into_bytes(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    // Reads need no token, and neither do bearer-token requests.
    let read = app
        .send_as(
            &Credentials::Session {
                cookie: session.cookie.clone(),
                csrf: None,
            },
            Method::GET,
            "/events?limit=1",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
}

#[tokio::test]
async fn sessions_end_when_idle_and_after_eight_hours() {
    let app = App::start().await;
    let idle = app.login("miner.clerk", PASSWORD).await;
    let busy = app.login("miner.boss", PASSWORD).await;
    let me = |s: &Session| {
        let who = s.credentials();
        let app = &app;
        async move {
            app.send_as(&who, Method::GET, "/me", None, Vec::new())
                .await
        }
    };
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(me(&busy).await.status, StatusCode::OK);
    }
    let ended = me(&idle).await.problem(StatusCode::UNAUTHORIZED);
    assert!(
        ended["detail"].as_str().unwrap().contains("without use"),
        "{ended}"
    );
    me(&idle).await.problem(StatusCode::UNAUTHORIZED);
    let mut used = Duration::hours(1);
    let ended = loop {
        app.clock.advance(Duration::minutes(20));
        used += Duration::minutes(20);
        let answer = me(&busy).await;
        if answer.status != StatusCode::OK {
            break answer.problem(StatusCode::UNAUTHORIZED);
        }
        assert!(used < Duration::hours(8), "a session outlived eight hours");
    };
    assert_eq!(used, Duration::hours(8), "a busy session lasts eight hours");
    assert!(
        ended["detail"].as_str().unwrap().contains("maximum length"),
        "{ended}"
    );
}

#[tokio::test]
async fn repeated_failures_throttle_then_lock_an_account() {
    let app = App::start().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.try_login("miner.boss", "Wrong-Password-123")
                .await
                .status,
        );
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let waiting = app.try_login("miner.boss", PASSWORD).await;
    let problem = waiting.problem(StatusCode::TOO_MANY_REQUESTS);
    assert!(waiting.headers.contains_key(header::RETRY_AFTER));
    assert!(problem["detail_zh"].is_string());
    // Waiting out each delay and failing again reaches the lock.
    for _ in 0..5 {
        app.clock.advance(Duration::seconds(40));
        app.try_login("miner.boss", "Wrong-Password-123").await;
    }
    app.clock.advance(Duration::seconds(40));
    app.try_login("miner.boss", PASSWORD)
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::minutes(16));
    let after = app.try_login("miner.boss", PASSWORD).await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.text());
    // Another account from the same address is not locked by it.
    assert_eq!(
        app.try_login("miner.clerk", PASSWORD).await.status,
        StatusCode::CREATED
    );
    // Every attempt is on the trail.
    let trail = app
        .get_as("national.auditor", "/trail?action=login.failed")
        .await
        .json();
    assert!(trail["items"].as_array().unwrap().len() >= 10, "{trail}");
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let app = App::start().await;
    let boss = app.token("miner.boss");
    let issued = app
        .send_as(
            &boss,
            Method::POST,
            "/tokens",
            Some("application/json"),
            json!({"account": "miner.clerk", "label": "Kingdee ERP", "expires_in_days": 30})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
    let issued = issued.json();
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rt_") && token.len() == 55);
    let id = issued["id"].as_str().unwrap().to_owned();
    let erp = Credentials::Bearer(token.clone());
    let me = app
        .send_as(&erp, Method::GET, "/me", None, Vec::new())
        .await;
    assert_eq!(me.status, StatusCode::OK);
    let listed = app
        .send_as(&boss, Method::GET, "/tokens", None, Vec::new())
        .await
        .text();
    assert!(
        listed.contains(&id) && !listed.contains(&token),
        "listed without secret"
    );
    let revoked = app
        .send_as(
            &boss,
            Method::DELETE,
            &format!("/tokens/{id}"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let problem = app
        .send_as(&erp, Method::GET, "/me", None, Vec::new())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
    let expired = app
        .send_as(
            &app.token("miner.clerk"),
            Method::GET,
            "/me",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(expired.status, StatusCode::OK, "other tokens still work");
    app.clock.advance(Duration::days(91));
    let problem = app
        .send_as(
            &app.token("miner.clerk"),
            Method::GET,
            "/me",
            None,
            Vec::new(),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_disabled_account_stops_at_once() {
    let app = App::start().await;
    let session = app.login("smelter.clerk", PASSWORD).await;
    let disabled = app
        .send_as(
            &app.token("smelter.boss"),
            Method::PATCH,
            "/accounts/smelter.clerk",
            Some("application/json"),
            json!({"disabled": true}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
    for who in [app.token("smelter.clerk"), session.credentials()] {
        app.send_as(&who, Method::GET, "/me", None, Vec::new())
            .await
            .problem(StatusCode::UNAUTHORIZED);
    }
    let again = app.try_login("smelter.clerk", PASSWORD).await;
    let problem = again.problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail_zh"].as_str().unwrap().contains("停用"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_new_password_meets_the_policy_and_ends_other_sessions() {
    let app = App::start().await;
    let here = app.login("miner.clerk", PASSWORD).await;
    let elsewhere = app.login("miner.clerk", PASSWORD).await;
    let change = |current: &str, new: &str| {
        json!({"current": current, "new": new})
            .to_string()
            .into_bytes()
    };
    let weak = app
        .send_as(
            &here.credentials(),
            Method::POST,
            "/me/password",
            Some("application/json"),
            change(PASSWORD, "password1234"),
        )
        .await;
    let problem = weak.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "new");
    assert!(problem["detail_zh"].is_string());
    let wrong = app
        .send_as(
            &here.credentials(),
            Method::POST,
            "/me/password",
            Some("application/json"),
            change("Not-My-Password-9", "A much better passphrase 7"),
        )
        .await;
    assert_eq!(
        wrong.problem(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "current"
    );
    let changed = app
        .send_as(
            &here.credentials(),
            Method::POST,
            "/me/password",
            Some("application/json"),
            change(PASSWORD, "A much better passphrase 7"),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let still = app
        .send_as(&here.credentials(), Method::GET, "/me", None, Vec::new())
        .await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "the session that changed it goes on"
    );
    app.send_as(
        &elsewhere.credentials(),
        Method::GET,
        "/me",
        None,
        Vec::new(),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    app.try_login("miner.clerk", PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.login("miner.clerk", "A much better passphrase 7").await;
}

#[tokio::test]
async fn the_trail_shows_who_read_what_and_proves_it() {
    let app = App::with_fixture().await;
    let p = parties();
    let read = app
        .get_as("ganzhou.city", &format!("/events?enterprise={}", p.smelter))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    app.record("miner.clerk", &json!([extract("ORE-2507-02", "3 t")]))
        .await;
    let trail = app
        .get_as(
            "national.auditor",
            "/trail?account=ganzhou.city&action=read",
        )
        .await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.text());
    let trail = trail.json();
    let items = trail["items"].as_array().unwrap();
    let entry = items
        .iter()
        .find(|e| {
            e["target"]
                .as_str()
                .unwrap()
                .contains("/api/v1/events?enterprise=")
        })
        .unwrap_or_else(|| panic!("the read is on the trail: {trail}"));
    assert_eq!(entry["status"], 200);
    assert_eq!(
        entry["actor"]["role"],
        "regulator:prefecture:3607:industry_it"
    );
    assert_eq!(entry["actor"]["address"], "127.0.0.1");
    assert_eq!(entry["enterprises"], json!([p.smelter.as_str()]));
    let written = app
        .get_as(
            "national.auditor",
            "/trail?account=miner.clerk&action=record",
        )
        .await
        .json();
    assert_eq!(written["items"].as_array().unwrap().len(), 1, "{written}");

    // An auditor of Inner Mongolia sees the miner's write, not Ganzhou's read.
    let regional = app
        .get_as("neimenggu.auditor", "/trail?limit=1000")
        .await
        .json();
    let indices: Vec<u64> = regional["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert!(indices.contains(&written["items"][0]["index"].as_u64().unwrap()));
    assert!(!indices.contains(&entry["index"].as_u64().unwrap()));
    app.get_as("ganzhou.city", "/trail")
        .await
        .problem(StatusCode::FORBIDDEN);

    let key = LogVerifier::from_vkey(app.get("/trail-key").await.text().trim()).unwrap();
    assert_eq!(key, app.trail_verifier);
    let note = app.get_as("national.auditor", "/trail/checkpoint").await;
    let checkpoint = SignedCheckpoint::parse_and_verify(&note.body, &key).unwrap();
    let index = entry["index"].as_u64().unwrap();
    let proof = app
        .get_as(
            "national.auditor",
            &format!(
                "/trail/proofs/inclusion?index={index}&size={}",
                checkpoint.size()
            ),
        )
        .await
        .json();
    let path: Vec<Hash> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect();
    let leaf = leaf_hash(proof["entry"].as_str().unwrap().as_bytes());
    verify_inclusion(&leaf, index, checkpoint.size(), &path, &checkpoint.root()).unwrap();
}

/// A request from a client that trusts only the test CA, over one TLS connection.
async fn https(address: std::net::SocketAddr, method: &str, path: &str, body: &str) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(include_bytes!("tls/ca.pem")).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn https_serves_with_secure_host_cookies() {
    let app = App::start().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls");
    let tls = retrace_server::Tls::from_pem_files(&dir.join("server.pem"), &dir.join("server.key"))
        .await
        .unwrap();
    let state = retrace_server::AppState::new(
        Arc::clone(&app.store),
        app.clock.clone(),
        String::new(),
        String::new(),
        common::ORIGIN.to_owned(),
        retrace_access::CsrfKey::from_bytes([9; 32]),
        true,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(retrace_server::serve_tls(listener, tls, state, async {
        let _ = stopped.await;
    }));
    let response = https(address, "GET", "/api/v1/healthz", "").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
    let login = json!({"account": "miner.clerk", "password": PASSWORD}).to_string();
    let response = https(address, "POST", "/api/v1/session", &login).await;
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let cookie = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("{response}"));
    assert!(cookie.contains("__Host-retrace_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    // A plain-HTTP client gets no answer from the TLS port.
    let plain = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut read, mut write) = plain.into_split();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    write
        .write_all(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        read.read_to_end(&mut buffer),
    )
    .await;
    assert!(!String::from_utf8_lossy(&buffer).contains("200 OK"));
    drop(stop);
}

//! Why a page cannot be shown, as a page that says what to do: in Chinese and
//! English both, since the reader's language may be what could not be read.
//! Internal details are logged, never shown.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use retrace_access::Language;
use retrace_store::StoreError;

use super::i18n::Tr;
use crate::problem::ApiError;

/// A page that cannot be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    /// Nothing of that name, or nothing the caller's scope reaches (the two
    /// look alike, as in the API).
    NotFound,
    /// The caller's role does not include what the page does.
    Denied,
    /// No session, or one that no longer holds: log in, then come back.
    Login { back: String },
    /// The audit trail could not record the request, so the page is withheld.
    Unavailable,
    /// Something broke; the log has the details.
    Internal,
}

impl PageError {
    /// An internal failure, logged with its cause.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> PageError {
        tracing::error!(error = %cause, "a page failed");
        PageError::Internal
    }

    fn status(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Denied => StatusCode::FORBIDDEN,
            PageError::Login { .. } => StatusCode::SEE_OTHER,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The title and the advice of the page.
    fn keys(&self) -> (&'static str, &'static str) {
        match self {
            PageError::NotFound => ("error.not_found.title", "error.not_found.advice"),
            PageError::Denied => ("error.denied.title", "error.denied.advice"),
            PageError::Login { .. } | PageError::Internal => {
                ("error.internal.title", "error.internal.advice")
            }
            PageError::Unavailable => ("error.unavailable.title", "error.unavailable.advice"),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        match e {
            StoreError::NotFound(_) => PageError::NotFound,
            other => PageError::internal(other),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        match e {
            ApiError::Store { error, .. } => error.into(),
            ApiError::Denied(_) => PageError::Denied,
            ApiError::Unauthenticated { .. } => PageError::Login {
                back: String::new(),
            },
            ApiError::TrailUnavailable => PageError::Unavailable,
            // A path or query parameter that does not parse names nothing.
            ApiError::Parameter { .. } => PageError::NotFound,
            other => PageError::internal(format!("{other:?}")),
        }
    }
}

/// The error page, in both languages.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    zh: Message,
    en: Message,
}

struct Message {
    title: &'static str,
    advice: &'static str,
    home: &'static str,
}

impl Message {
    fn of((title, advice): (&str, &str), language: Language) -> Message {
        let t = Tr::new(language);
        Message {
            title: t.s(title),
            advice: t.s(advice),
            home: t.s("error.home"),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::Login { back } = &self {
            let target = if back.is_empty() {
                "/login".to_owned()
            } else {
                format!("/login?back={}", super::view::query_escape(back))
            };
            return Redirect::to(&target).into_response();
        }
        let keys = self.keys();
        let page = ErrorPage {
            status: self.status().as_u16(),
            zh: Message::of(keys, Language::Zh),
            en: Message::of(keys, Language::En),
        };
        match page.render() {
            Ok(html) => (self.status(), super::view::page_headers(), Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "the error page failed");
                self.status().into_response()
            }
        }
    }
}

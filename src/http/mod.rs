//! Request-body plumbing shared by every JSON route: bodies are read as bytes
//! and parsed here so every failure becomes a clear error in our envelope.

pub mod extract;
pub mod listing;
pub mod openapi;
pub mod serve;

pub use extract::{multipart_field_error, Multipart, Path, Query};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::AppError;

/// A JSON object body. Rejections: 413 when over the size limit, 400 for
/// bodies that are not JSON or not an object.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_error(rejection.status(), rejection.body_text()))?;
        if bytes.is_empty() {
            return Err(AppError::BadRequest(
                "request body is empty; expected a JSON object".into(),
            ));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::BadRequest(format!("request body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(AppError::BadRequest(
                "request body must be a JSON object".into(),
            ));
        }
        if let Some(field) = crate::text::json_path_with_nul(&value) {
            return Err(AppError::field(&field, crate::text::NUL_REFUSED));
        }
        Ok(JsonBody(value))
    }
}

/// The address WeChat reaches this server at, as an extractor: see
/// [`public_base_url`].
pub struct PublicBase(pub String);

impl<S> axum::extract::FromRequestParts<S> for PublicBase
where
    S: Send + Sync,
    crate::state::AppState: axum::extract::FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let state = <crate::state::AppState as axum::extract::FromRef<S>>::from_ref(state);
        Ok(PublicBase(public_base_url(
            state.config.public_url.as_deref(),
            &parts.headers,
        )))
    }
}

/// The address WeChat reaches this server at: `WXMP_PUBLIC_URL` when
/// configured, else derived from the request (Host, X-Forwarded-Proto).
pub fn public_base_url(configured: Option<&str>, headers: &axum::http::HeaderMap) -> String {
    use axum::http::header;
    match configured {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .filter(|p| matches!(*p, "http" | "https"))
                .unwrap_or("http");
            format!("{scheme}://{host}")
        }
    }
}

/// The client's address: the peer, or, when the peer is one of the trusted
/// reverse proxies, the nearest address in `X-Forwarded-For` that is not one
/// of them (addresses further left were written by the client and prove
/// nothing).
pub fn client_address(
    peer: std::net::IpAddr,
    trusted: &[std::net::IpAddr],
    headers: &axum::http::HeaderMap,
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.into_iter().rev() {
        match hop.parse::<std::net::IpAddr>() {
            Ok(address) if trusted.contains(&address) => continue,
            Ok(address) => return address,
            // A hop we cannot read: stop at the last address we trust.
            Err(_) => break,
        }
    }
    peer
}

pub fn body_error(status: StatusCode, detail: String) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("request body is larger than the server accepts".into())
    } else {
        AppError::BadRequest(format!("cannot read the request body: {detail}"))
    }
}

/// Deserializes a body into `T`; a wrong field is a 422 naming that field.
pub fn parse_json_body<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // serde reports missing and unknown fields at the parent's path.
        let (field, reason) = match (
            extract_quoted(&inner, "missing field `"),
            extract_quoted(&inner, "unknown field `"),
        ) {
            (Some(name), _) => (name, "is required".to_string()),
            (_, Some(name)) => (name, "is not a known field".to_string()),
            _ => (path, inner),
        };
        let field = if field.is_empty() || field == "." {
            "body".into()
        } else {
            field
        };
        AppError::field(&field, reason)
    })
}

fn extract_quoted(message: &str, prefix: &str) -> Option<String> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    Some(rest[..rest.find('`')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: i32,
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (serde_json::json!({"name": "x"}), "count"),
            (serde_json::json!({"name": "x", "count": "many"}), "count"),
            (
                serde_json::json!({"name": "x", "count": 1, "extra": 1}),
                "extra",
            ),
        ];
        for (value, field) in cases {
            match parse_json_body::<Sample>(value) {
                Err(AppError::Validation(fields)) => {
                    assert!(fields.contains_key(field), "{fields:?}")
                }
                other => panic!("expected a field error, got {other:?}"),
            }
        }
    }
}

//! axum's extractors with our rejections: a bad query string, path segment or
//! multipart form becomes the JSON envelope with a message naming the
//! problem, instead of axum's plain-text answer. Routes import `Query`,
//! `Path` and `Multipart` from here, never from `axum::extract`
//! (`tests/api/layering.rs` checks it). JSON bodies are read by
//! [`super::JsonBody`].

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The query string, deserialized into `T`; 400 naming what is wrong.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(query_error)
    }
}

/// The path parameters, deserialized into `T`; 400 naming what is wrong.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(path_error)
    }
}

/// A `multipart/form-data` body; 400 when the request is not one. Errors
/// while reading its fields are mapped by [`multipart_field_error`].
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        axum::extract::Multipart::from_request(request, state)
            .await
            .map(Multipart)
            .map_err(multipart_error)
    }
}

fn query_error(rejection: QueryRejection) -> AppError {
    AppError::BadRequest(format!(
        "bad query string: {}",
        strip_axum_prefix(&rejection.body_text())
    ))
}

fn path_error(rejection: PathRejection) -> AppError {
    let detail = strip_axum_prefix(&rejection.body_text()).to_string();
    if rejection.status().is_server_error() {
        // The route and its handler disagree about the parameters: our bug.
        AppError::Internal(format!("path parameters: {detail}"))
    } else {
        AppError::BadRequest(format!("bad path: {detail}"))
    }
}

fn multipart_error(rejection: MultipartRejection) -> AppError {
    AppError::BadRequest(format!(
        "the body must be multipart/form-data with a boundary: {}",
        rejection.body_text()
    ))
}

/// An error while reading one field of a multipart form: 413 over the body
/// limit, otherwise 400 naming the field when it is known.
pub fn multipart_field_error(field: Option<&str>, error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge("request body is larger than the server accepts".into());
    }
    match field {
        Some(name) => AppError::BadRequest(format!(
            "cannot read multipart field {name}: {}",
            error.body_text()
        )),
        None => AppError::BadRequest(format!(
            "cannot read the multipart form: {}",
            error.body_text()
        )),
    }
}

/// axum's messages open with "Failed to deserialize query string: " and the
/// like; ours say where in our own words.
fn strip_axum_prefix(text: &str) -> &str {
    [
        "Failed to deserialize query string: ",
        "Failed to deserialize path parameters: ",
    ]
    .iter()
    .find_map(|prefix| text.strip_prefix(prefix))
    .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axum_prefixes_are_replaced_by_ours() {
        assert_eq!(
            strip_axum_prefix("Failed to deserialize query string: missing field `id`"),
            "missing field `id`"
        );
        assert_eq!(strip_axum_prefix("something else"), "something else");
    }
}

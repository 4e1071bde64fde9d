//! One error type for the HTTP API, turned into the JSON envelope in one place.
//! Each envelope also carries stable codes for the UI to translate (`codes`).

pub mod check;
pub mod codes;

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Field name → what is wrong with it.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("validation failed: {}", describe_fields(.0))]
    Validation(FieldErrors),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// WeChat (or another upstream service) refused or failed.
    #[error("{message}")]
    Upstream {
        message: String,
        errcode: Option<i64>,
        errmsg: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe_fields(fields: &FieldErrors) -> String {
    fields
        .iter()
        .map(|(field, reason)| format!("{field}: {reason}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        AppError::Validation(FieldErrors::from([(field.to_string(), reason.into())]))
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        AppError::Internal(error.to_string())
    }

    /// The error's kind as a stable code: `error.code` of an envelope whose
    /// message has no code of its own.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found_other",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::RequestTimeout(_) => "request_timeout",
            AppError::Validation(_) => "validation",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Upstream { .. } => "upstream",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        use sea_orm::SqlErr;
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => AppError::Conflict(format!(
                "a row with the same unique value exists ({detail})"
            )),
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => AppError::Conflict(format!(
                "the row is referenced by, or refers to, a missing row ({detail})"
            )),
            _ if crate::db::is_data_error(&error) => {
                AppError::BadRequest(format!("the database refused a value: {error}"))
            }
            _ if crate::db::is_unreachable(&error) => {
                AppError::Unavailable("the database is unavailable; retry".into())
            }
            _ => AppError::Internal(format!("database: {error}")),
        }
    }
}

impl From<crate::ids::IdError> for AppError {
    fn from(error: crate::ids::IdError) -> Self {
        AppError::Unavailable(error.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, data) = match &self {
            AppError::Internal(detail) => {
                // Details stay in the log; the client learns only that it failed.
                tracing::error!(error = %detail, "request failed");
                ("internal server error".to_string(), serde_json::Value::Null)
            }
            AppError::Validation(fields) => {
                let field_codes: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .filter_map(|(field, reason)| {
                        Some((field.clone(), codes::lookup(codes::FIELD_REASONS, reason)?))
                    })
                    .collect();
                (
                    self.to_string(),
                    json!({ "fields": fields, "codes": field_codes }),
                )
            }
            AppError::Upstream {
                message,
                errcode,
                errmsg,
            } => (
                message.clone(),
                json!({ "errcode": errcode, "errmsg": errmsg }),
            ),
            other => (other.to_string(), serde_json::Value::Null),
        };
        let error = codes::lookup(codes::MESSAGES, &message)
            .unwrap_or_else(|| json!({ "code": self.kind(), "params": {} }));
        let body = json!({ "code": status.as_u16(), "msg": message, "data": data, "error": error });
        let mut response = (status, Json(body)).into_response();
        if let AppError::TooManyRequests { retry_after, .. } = self {
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// The success envelope: `{"code":0,"msg":"ok","data":…}`.
pub fn ok<T: serde::Serialize>(data: T) -> Json<serde_json::Value> {
    Json(json!({ "code": 0, "msg": "ok", "data": data }))
}

pub type ApiResult = Result<Json<serde_json::Value>, AppError>;

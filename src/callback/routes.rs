//! The callback's HTTP endpoints: URL verification (GET) and messages
//! (POST), at the shared path (account found by ToUserName or by token) and
//! at a path per AppID.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::time::Instant;
use utoipa::openapi::path::HttpMethod;

use super::accounts::CallbackAccount;
use super::flow::{
    check_timestamp, parse_body, receive, unauthorized, verify_request, CallbackQuery,
};
use super::MAX_CALLBACK_BODY;
use crate::auth::CurrentAdmin;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Answers, Api, Operation};
use crate::http::{Path, PublicBase, Query};
use crate::state::AppState;
use crate::wechat::signature;
use serde_json::json;
use std::sync::Arc;

const PATH: &str = "/wechat/official_account/callback";

pub fn register(api: Api) -> Api {
    let routes = || {
        get(verify_url_any)
            .post(receive_any)
            .layer(DefaultBodyLimit::max(MAX_CALLBACK_BODY))
    };
    let routes_for_app = || {
        get(verify_url_for_app)
            .post(receive_for_app)
            .layer(DefaultBodyLimit::max(MAX_CALLBACK_BODY))
    };
    let doc = |method, path: &str, summary: &str| {
        Operation::new(method, path, "wechat callback", summary)
            .public()
            .may_fail_with(&[401, 413, 503])
            .query("signature", "sha1 of token, timestamp and nonce")
            .query("timestamp", "unix seconds")
            .query("nonce", "random string")
    };
    let with_app = format!("{PATH}/{{app_id}}");
    let get_doc = |path: &str, summary: &str| {
        doc(HttpMethod::Get, path, summary)
            .query("echostr", "string to echo")
            .answers(Answers::Content(&["text/plain"]))
    };
    let post_doc = |path: &str, summary: &str| {
        doc(HttpMethod::Post, path, summary)
            // The reply as XML, or `success` for no reply.
            .answers(Answers::Content(&["application/xml", "text/plain"]))
            .query(
                "msg_signature",
                "signature over the Encrypt element (AES and compatible modes)",
            )
            .query("encrypt_type", "aes when encrypted")
    };
    api.route(
        get_doc(
            PATH,
            "URL verification: echoes echostr when the signature matches an account's token",
        ),
        routes(),
    )
    .documented(post_doc(
        PATH,
        "A message or event from WeChat; the account is found by ToUserName",
    ))
    .route(
        get_doc(&with_app, "URL verification for one account"),
        routes_for_app(),
    )
    .documented(post_doc(
        &with_app,
        "A message or event from WeChat for one account",
    ))
    .route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/callback/base",
            "wechat callback",
            "Where WeChat reaches this server: {base_url, callback_url, configured, \
             accepted_by_wechat} (the server URL to paste into WeChat's console is \
             callback_url/<AppID>)",
        ),
        get(callback_base),
    )
}

/// Whether WeChat's console takes a server URL at this base: it accepts only
/// HTTPS on port 443 and HTTP on port 80.
pub fn wechat_accepts(base: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base) else {
        return false;
    };
    matches!(
        (url.scheme(), url.port_or_known_default()),
        ("https", Some(443)) | ("http", Some(80))
    )
}

async fn callback_base(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    PublicBase(base): PublicBase,
) -> ApiResult {
    Ok(ok(json!({
        "base_url": base,
        "callback_url": format!("{base}{PATH}"),
        "configured": state.config.public_url.is_some(),
        "accepted_by_wechat": wechat_accepts(&base),
    })))
}

async fn account_by_app_id(
    state: &AppState,
    app_id: &str,
) -> Result<Arc<CallbackAccount>, AppError> {
    state
        .callback_accounts
        .by_app_id(app_id)
        .await
        .map_err(|e| AppError::Unavailable(format!("database: {e}")))?
        .ok_or_else(|| AppError::NotFound(format!("no enabled account with AppID {app_id:?}")))
}

async fn verify_url_for_app(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let account = account_by_app_id(&state, &app_id).await?;
    verify_request(&state, &account, &query).inspect_err(|e| log_refusal(&app_id, e))?;
    echo(query)
}

async fn verify_url_any(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let accounts = state
        .callback_accounts
        .all()
        .await
        .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
    let matching = accounts
        .iter()
        .find(|a| {
            signature::verify(
                &query.signature,
                &[&a.model.token, &query.timestamp, &query.nonce],
            )
        })
        .ok_or_else(|| unauthorized("the signature matches no account's token"))
        .inspect_err(|e| log_refusal("-", e))?;
    check_timestamp(&state, &query.timestamp)
        .inspect_err(|e| log_refusal(&matching.model.app_id, e))?;
    echo(query)
}

fn echo(query: CallbackQuery) -> Result<Response, AppError> {
    let echostr = query
        .echostr
        .ok_or_else(|| AppError::BadRequest("echostr is missing".into()))?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        echostr,
    )
        .into_response())
}

fn log_refusal(app_id: &str, error: &AppError) {
    tracing::warn!(app_id, status = error.status().as_u16(), reason = %error, "callback refused");
}

async fn receive_for_app(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<CallbackQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let arrival = Instant::now();
    let body = read_body(body).inspect_err(|e| log_refusal(&app_id, e))?;
    let account = account_by_app_id(&state, &app_id)
        .await
        .inspect_err(|e| log_refusal(&app_id, e))?;
    receive(state, account, query, &body, None, arrival)
        .await
        .inspect_err(|e| log_refusal(&app_id, e))
}

async fn receive_any(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let arrival = Instant::now();
    let body = read_body(body).inspect_err(|e| log_refusal("-", e))?;
    // The account is named by ToUserName, readable in every mode.
    let outer = parse_body(&body).inspect_err(|e| log_refusal("-", e))?;
    let to_user = outer.text("ToUserName");
    let lookup = async {
        if let Some(account) = state.callback_accounts.by_original_id(&to_user).await? {
            return Ok(Some(account));
        }
        state.callback_accounts.by_app_id(&to_user).await
    };
    let account = lookup
        .await
        .map_err(|e: sea_orm::DbErr| AppError::Unavailable(format!("database: {e}")))?
        .ok_or_else(|| AppError::NotFound(format!("no enabled account for ToUserName {to_user:?}")))
        .inspect_err(|e| log_refusal("-", e))?;
    let app_id = account.model.app_id.clone();
    receive(state, account, query, &body, Some(outer), arrival)
        .await
        .inspect_err(|e| log_refusal(&app_id, e))
}

fn read_body(body: Result<Bytes, BytesRejection>) -> Result<String, AppError> {
    let bytes = body.map_err(|r| crate::http::body_error(r.status(), r.body_text()))?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| AppError::BadRequest("callback body is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::wechat_accepts;

    #[test]
    fn wechat_takes_only_https_on_443_and_http_on_80() {
        assert!(wechat_accepts("https://wx.example.com"));
        assert!(wechat_accepts("https://wx.example.com:443/base"));
        assert!(wechat_accepts("http://wx.example.com"));
        assert!(!wechat_accepts("http://127.0.0.1:8080"));
        assert!(!wechat_accepts("https://wx.example.com:8443"));
        assert!(!wechat_accepts("http://wx.example.com:443"));
        assert!(!wechat_accepts("not a url"));
    }
}

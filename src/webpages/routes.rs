//! Admin endpoints for the account's own web pages opened in WeChat: the
//! OAuth URL, code → openid, and the JS-SDK `wx.config` parameters.

use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;

use crate::auth::{account_for, account_in_query, CurrentAdmin};
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::state::AppState;
use crate::wxapi::web::{authorize_url as oauth_url, jssdk_signature};

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post};
    api.route(
        Operation::new(
            Get,
            "/wechat/oauth/authorize_url",
            "web pages",
            "The OAuth URL a WeChat web page sends the fan to (snsapi_base or snsapi_userinfo)",
        )
        .query("account_id", "the account")
        .query(
            "redirect_uri",
            "where WeChat sends the fan back with ?code=",
        )
        .query("scope", "snsapi_base (default) or snsapi_userinfo")
        .query("state", "echoed back"),
        get(authorize_url),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/oauth/exchange",
            "web pages",
            "Exchange an OAuth code for the fan's openid: {account_id, code}",
        )
        .json_body()
        .calls_upstream(),
        post(exchange),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/jssdk/config",
            "web pages",
            "wx.config parameters for a page URL: {account_id, url}",
        )
        .json_body()
        .calls_upstream(),
        post(jssdk_config),
    )
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    account_id: String,
    redirect_uri: String,
    scope: Option<String>,
    state: Option<String>,
}

async fn authorize_url(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<AuthorizeQuery>,
) -> ApiResult {
    let account = account_in_query(&state.db, &admin, &query.account_id).await?;
    let scope = query.scope.unwrap_or_else(|| "snsapi_base".into());
    if scope != "snsapi_base" && scope != "snsapi_userinfo" {
        return Err(AppError::field("scope", "snsapi_base or snsapi_userinfo"));
    }
    if !(query.redirect_uri.starts_with("https://") || query.redirect_uri.starts_with("http://")) {
        return Err(AppError::field(
            "redirect_uri",
            "must be an http(s) URL on the account's authorized domain",
        ));
    }
    let oauth_state = query.state.unwrap_or_default();
    if oauth_state.len() > 128
        || !oauth_state
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AppError::field(
            "state",
            "up to 128 letters, digits, '_' or '-'",
        ));
    }
    let url = oauth_url(&account.app_id, &query.redirect_uri, &scope, &oauth_state);
    Ok(ok(json!({ "url": url })))
}

#[derive(Deserialize)]
struct ExchangeRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    code: String,
}

async fn exchange(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: ExchangeRequest = parse_json_body(body)?;
    let account = account_for(&state.db, &admin, request.account_id).await?;
    if request.code.trim().is_empty() {
        return Err(AppError::field("code", "is required"));
    }
    let grant = state.wxapi.oauth_exchange(&account, &request.code).await?;
    let openid = grant["openid"].as_str().unwrap_or_default().to_string();
    let scope = grant["scope"].as_str().unwrap_or_default().to_string();
    let mut userinfo = Value::Null;
    if scope.contains("snsapi_userinfo") {
        userinfo = state
            .wxapi
            .oauth_userinfo(grant["access_token"].as_str().unwrap_or_default(), &openid)
            .await?;
    }
    Ok(ok(
        json!({ "openid": openid, "unionid": grant["unionid"], "scope": scope, "userinfo": userinfo }),
    ))
}

#[derive(Deserialize)]
struct JssdkRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    url: String,
}

async fn jssdk_config(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: JssdkRequest = parse_json_body(body)?;
    let account = account_for(&state.db, &admin, request.account_id).await?;
    // The signed URL is the page's, without the fragment.
    let url = request
        .url
        .split('#')
        .next()
        .unwrap_or_default()
        .to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(AppError::field("url", "the page's full http(s) URL"));
    }
    let ticket = state.wxapi.jsapi_ticket(&account).await?;
    let timestamp = chrono::Utc::now().timestamp();
    let nonce = {
        use rand::distributions::{Alphanumeric, DistString};
        Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
    };
    Ok(ok(json!({
        "appId": account.app_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": jssdk_signature(&ticket, &nonce, timestamp, &url),
    })))
}

//! Fans from WeChat (a background job with progress), OAuth web
//! authorization, and the JS-SDK signature.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use reqwest::Method;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;

use super::routes::{account_for, account_in_body};
use super::{Body, WxApi, WxError};
use crate::api::{Api, Operation};
use crate::auth::CurrentAdmin;
use crate::entity::{accounts, jobs, users};
use crate::error::{ok, ApiResult, AppError};
use crate::http::{parse_json_body, JsonBody};
use crate::state::AppState;

pub const SYNC_FANS: &str = "sync_fans";
/// `user/info/batchget` takes at most this many openids.
const INFO_BATCH: usize = 100;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post};
    api.route(
        Operation::new(
            Post,
            "/wechat/wxusers/sync",
            "fans",
            "Sync every fan from WeChat as a background job: {account_id} → job",
        )
        .json_body(),
        post(sync_fans),
    )
    .route(
        Operation::new(
            Get,
            "/wechat/jobs/get",
            "jobs",
            "A background job: status, attempts, progress, last error",
        )
        .query("id", "the job's id"),
        get(job),
    )
    .route(
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
        .json_body(),
        post(exchange),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/jssdk/config",
            "web pages",
            "wx.config parameters for a page URL: {account_id, url}",
        )
        .json_body(),
        post(jssdk_config),
    )
}

async fn sync_fans(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    let now = crate::admin::now();
    let job = crate::jobs::new_job(
        state.ids.next_id()?,
        SYNC_FANS,
        json!({ "account_id": account.id.to_string(), "fetched": 0, "total": null, "stored": 0 }),
        now,
    );
    let job = job
        .into_active_model()
        .reset_all()
        .insert(&state.db)
        .await?;
    state.jobs.notify();
    Ok(ok(job))
}

async fn job(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let id: i64 = query
        .get("id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppError::BadRequest("query parameter id is required".into()))?;
    let job = jobs::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("job {id} not found")))?;
    if let Some(account_id) = job
        .payload
        .as_ref()
        .and_then(|p| p.get("account_id"))
        .and_then(crate::ids::parse_id)
    {
        admin.require_account(account_id)?;
    } else {
        admin.require_admin()?;
    }
    Ok(ok(job))
}

/// The job: every follower's openid, then their details in batches, upserted.
pub async fn sync_fans_job(state: &AppState, job: &jobs::Model) -> Result<(), String> {
    let mut payload = job.payload.clone().unwrap_or_else(|| json!({}));
    let account = crate::jobs::payload_account(state, &payload).await?;
    let mut openids = Vec::new();
    let mut next = String::new();
    loop {
        let page = state
            .wxapi
            .call(
                &account,
                Method::GET,
                "/cgi-bin/user/get",
                &[("next_openid", next.clone())],
                Body::Empty,
            )
            .await
            .map_err(|e| e.to_string())?;
        let list = page["data"]["openid"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        openids.extend(list.iter().filter_map(|o| o.as_str().map(str::to_string)));
        payload["total"] = page["total"].clone();
        payload["fetched"] = json!(openids.len());
        crate::jobs::save_payload(state, job.id, &payload).await;
        next = page["next_openid"].as_str().unwrap_or_default().to_string();
        if list.is_empty()
            || next.is_empty()
            || openids.len() as i64 >= page["total"].as_i64().unwrap_or(0)
        {
            break;
        }
    }
    let mut stored = 0;
    for batch in openids.chunks(INFO_BATCH) {
        let list: Vec<Value> = batch
            .iter()
            .map(|o| json!({ "openid": o, "lang": "zh_CN" }))
            .collect();
        let info = state
            .wxapi
            .call(
                &account,
                Method::POST,
                "/cgi-bin/user/info/batchget",
                &[],
                Body::Json(json!({ "user_list": list })),
            )
            .await
            .map_err(|e| e.to_string())?;
        for fan in info["user_info_list"].as_array().into_iter().flatten() {
            upsert_fan(state, account.id, fan)
                .await
                .map_err(|e| e.to_string())?;
            stored += 1;
        }
        payload["stored"] = json!(stored);
        crate::jobs::save_payload(state, job.id, &payload).await;
    }
    tracing::info!(app_id = %account.app_id, fans = stored, "fans synced");
    Ok(())
}

/// Inserts or updates a fan from WeChat's user info, keeping our counters.
async fn upsert_fan(state: &AppState, account_id: i64, info: &Value) -> Result<(), sea_orm::DbErr> {
    let text = |key: &str| info[key].as_str().unwrap_or_default().to_string();
    let time = |key: &str| {
        info[key]
            .as_i64()
            .filter(|t| *t > 0)
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
    };
    let now = crate::admin::now();
    let fan = users::Model {
        id: state
            .ids
            .next_id()
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?,
        account_id,
        openid: text("openid"),
        unionid: text("unionid"),
        nickname: text("nickname"),
        headimgurl: text("headimgurl"),
        subscribe_status: info["subscribe"].as_i64().unwrap_or(0) as i16,
        subscribe_time: time("subscribe_time"),
        remark: text("remark"),
        subscribe_scene: text("subscribe_scene"),
        qr_scene: info["qr_scene_str"]
            .as_str()
            .map(str::to_string)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                info["qr_scene"]
                    .as_i64()
                    .filter(|s| *s != 0)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            }),
        tags: Some(info["tagid_list"].clone()).filter(|t| t.is_array()),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    users::Entity::insert(fan.into_active_model().reset_all())
        .on_conflict(
            OnConflict::columns([users::Column::AccountId, users::Column::Openid])
                .update_columns([
                    users::Column::Unionid,
                    users::Column::SubscribeStatus,
                    users::Column::SubscribeTime,
                    users::Column::Remark,
                    users::Column::SubscribeScene,
                    users::Column::QrScene,
                    users::Column::Tags,
                    users::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- OAuth

#[derive(Deserialize)]
struct AuthorizeQuery {
    account_id: String,
    redirect_uri: String,
    scope: Option<String>,
    state: Option<String>,
}

/// Where fans authorize (a browser URL, not an API).
pub const OAUTH_AUTHORIZE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn authorize_url(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<AuthorizeQuery>,
) -> ApiResult {
    let account_id: i64 = query
        .account_id
        .parse()
        .map_err(|_| AppError::BadRequest("account_id is not an id".into()))?;
    let account = account_for(&state, &admin, account_id).await?;
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
    let url = format!(
        "{OAUTH_AUTHORIZE}?appid={}&redirect_uri={}&response_type=code&scope={scope}&state={oauth_state}#wechat_redirect",
        account.app_id,
        encode(&query.redirect_uri)
    );
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
    let account = account_for(&state, &admin, request.account_id).await?;
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

// ---------------------------------------------------------------- JS-SDK

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
    let account = account_for(&state, &admin, request.account_id).await?;
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

/// `sha1("jsapi_ticket=…&noncestr=…&timestamp=…&url=…")`, hex.
pub fn jssdk_signature(ticket: &str, nonce: &str, timestamp: i64, url: &str) -> String {
    use sha1::{Digest, Sha1};
    let plain = format!("jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}");
    crate::wechat::signature::hex(&Sha1::digest(plain.as_bytes()))
}

/// jsapi tickets: shared like tokens (one fetch at a time, refreshed early).
#[derive(Default)]
pub struct Tickets {
    cached: Mutex<HashMap<i64, (String, chrono::DateTime<chrono::Utc>)>>,
    fetching: tokio::sync::Mutex<()>,
}

impl WxApi {
    pub async fn jsapi_ticket(&self, account: &accounts::Model) -> Result<String, WxError> {
        let fresh = |tickets: &Tickets| {
            tickets
                .cached
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&account.id)
                .filter(|(_, expires)| *expires - super::REFRESH_MARGIN > chrono::Utc::now())
                .map(|(ticket, _)| ticket.clone())
        };
        if let Some(ticket) = fresh(&self.tickets) {
            return Ok(ticket);
        }
        let _one_fetch = self.tickets.fetching.lock().await;
        if let Some(ticket) = fresh(&self.tickets) {
            return Ok(ticket);
        }
        let answer = self
            .call(
                account,
                Method::GET,
                "/cgi-bin/ticket/getticket",
                &[("type", "jsapi".into())],
                Body::Empty,
            )
            .await?;
        let ticket = answer["ticket"].as_str().unwrap_or_default().to_string();
        if ticket.is_empty() {
            return Err(WxError::BadResponse("getticket returned no ticket".into()));
        }
        let expires = chrono::Utc::now()
            + chrono::Duration::seconds(answer["expires_in"].as_i64().unwrap_or(7200));
        self.tickets
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.id, (ticket.clone(), expires));
        Ok(ticket)
    }

    /// `sns/oauth2/access_token`: code → openid (and a web access token).
    pub async fn oauth_exchange(
        &self,
        account: &accounts::Model,
        code: &str,
    ) -> Result<Value, WxError> {
        if account.app_secret.is_empty() {
            return Err(WxError::NotConfigured(format!(
                "account {} has no AppSecret",
                account.app_id
            )));
        }
        let query = [
            ("appid", account.app_id.clone()),
            ("secret", account.app_secret.clone()),
            ("code", code.to_string()),
            ("grant_type", "authorization_code".to_string()),
        ];
        self.send_once(
            Method::GET,
            "/sns/oauth2/access_token",
            &query,
            &Body::Empty,
        )
        .await
    }

    pub async fn oauth_userinfo(&self, web_token: &str, openid: &str) -> Result<Value, WxError> {
        let query = [
            ("access_token", web_token.to_string()),
            ("openid", openid.to_string()),
            ("lang", "zh_CN".to_string()),
        ];
        self.send_once(Method::GET, "/sns/userinfo", &query, &Body::Empty)
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn jssdk_signature_follows_the_documented_string() {
        // printf 'jsapi_ticket=T&noncestr=N&timestamp=1&url=https://a.example/p?x=1' | sha1sum
        assert_eq!(
            super::jssdk_signature("T", "N", 1, "https://a.example/p?x=1"),
            "b3d60bb69e03e1ce66eea535a2c5b80be0f0043b"
        );
        assert_eq!(
            super::encode("https://a.b/c?d=1&e=你"),
            "https%3A%2F%2Fa.b%2Fc%3Fd%3D1%26e%3D%E4%BD%A0"
        );
    }
}

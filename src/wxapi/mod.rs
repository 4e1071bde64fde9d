//! The WeChat Official Account API client: one connection pool, access tokens
//! that every caller shares, clear errors, and the retries that can help.

pub mod web;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::db::lease;
use crate::entity::accounts;
use crate::error::AppError;

/// Refresh this long before WeChat says a token expires.
pub const REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(5);
/// errcodes meaning "this access token is not valid (any more)".
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];
/// WeChat is busy: worth a retry.
const BUSY: i64 = -1;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WxError {
    #[error("WeChat API error {errcode}: {errmsg}{}", hint(*.errcode))]
    Api { errcode: i64, errmsg: String },
    #[error("cannot reach WeChat: {0}")]
    Transport(String),
    #[error("WeChat answered something that is not its JSON: {0}")]
    BadResponse(String),
    #[error("{0}")]
    NotConfigured(String),
}

/// What to do about the common errors.
pub fn hint(errcode: i64) -> &'static str {
    match errcode {
        40164 | 61004 => {
            " (this server's IP is not on the account's IP whitelist in the WeChat console)"
        }
        45015 => " (outside the 48-hour window: the fan has not written in the last 48 hours)",
        45047 => " (too many customer-service messages without a reply from the fan)",
        45009 => " (the daily API quota is used up)",
        40013 => " (the AppID is not valid)",
        40125 | 40001 => " (check the AppSecret)",
        48001 => " (the account is not authorized for this API: check its type and verification)",
        43004 => " (the fan does not follow the account)",
        40003 => " (the openid does not belong to this account)",
        _ => "",
    }
}

/// A failed HTTP exchange with WeChat, said without its URL: the URL carries
/// the access token, which must never reach a log or an admin.
fn transport_error(error: reqwest::Error) -> WxError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    WxError::Transport(format!("{what}: {}", error.without_url()))
}

impl WxError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WxError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }
}

impl From<WxError> for AppError {
    fn from(error: WxError) -> Self {
        match &error {
            WxError::NotConfigured(message) => AppError::field("account_id", message.clone()),
            WxError::Api { errcode, errmsg } => AppError::Upstream {
                message: error.to_string(),
                errcode: Some(*errcode),
                errmsg: errmsg.clone(),
            },
            _ => AppError::Upstream {
                message: error.to_string(),
                errcode: None,
                errmsg: String::new(),
            },
        }
    }
}

/// A multipart part (kept as bytes so a retry can send it again).
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
pub enum Body {
    Empty,
    Json(Value),
    Multipart(Vec<Part>),
}

/// How long one instance may hold an account's token refresh.
const REFRESH_LEASE: Duration = Duration::from_secs(15);
/// How long a caller waits for another instance's refresh before failing.
const REFRESH_WAIT: Duration = Duration::from_secs(10);
const REFRESH_POLL: Duration = Duration::from_millis(100);

fn database_error(error: sea_orm::DbErr) -> WxError {
    WxError::Transport(format!("database: {error}"))
}

#[derive(Clone, Debug)]
struct CachedToken {
    token: String,
    expires_at: DateTime<Utc>,
}

impl CachedToken {
    fn fresh(&self) -> bool {
        self.expires_at - REFRESH_MARGIN > Utc::now()
    }
}

pub struct WxApi {
    http: reqwest::Client,
    base: String,
    db: DatabaseConnection,
    /// This instance's name, as holder of token refresh leases.
    instance: String,
    tokens: Mutex<HashMap<i64, CachedToken>>,
    /// One refresh at a time per account; others wait for its result.
    refreshing: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Tokens fetched from WeChat by this process.
    pub token_fetches: AtomicU64,
    tickets: web::Tickets,
}

impl WxApi {
    /// A client of WeChat at `base`; a call not answered within `timeout`
    /// fails (and is not retried).
    pub fn new(base: &str, db: DatabaseConnection, instance: String, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            db,
            instance,
            tokens: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(HashMap::new()),
            token_fetches: AtomicU64::new(0),
            tickets: web::Tickets::default(),
        }
    }

    fn cached(&self, account_id: i64) -> Option<CachedToken> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account_id)
            .filter(|t| t.fresh())
            .cloned()
    }

    /// A valid access token: from memory, else from the database (another
    /// instance may have fetched it), else fetched once for all callers.
    pub async fn access_token(&self, account: &accounts::Model) -> Result<String, WxError> {
        if let Some(token) = self.cached(account.id) {
            return Ok(token.token);
        }
        let lock = self.refresh_lock(account.id);
        let _one_refresh = lock.lock().await;
        if let Some(token) = self.cached(account.id) {
            return Ok(token.token);
        }
        // A stored token (another instance may have fetched it) first.
        Ok(self.refresh_shared(account, None).await?.token)
    }

    /// A new token, fetched by one instance for all that share the database:
    /// under the lease `token:<account id>`, while the others wait for the
    /// token it stores. `rejected` is a token WeChat just refused: a stored
    /// token other than it is the replacement, else one is fetched with
    /// `force_refresh`.
    async fn refresh_shared(
        &self,
        account: &accounts::Model,
        rejected: Option<&str>,
    ) -> Result<CachedToken, WxError> {
        let lease_name = format!("token:{}", account.id);
        let gives_up = tokio::time::Instant::now() + REFRESH_WAIT;
        loop {
            if let Some(stored) = self.replacement(account.id, rejected).await? {
                return Ok(stored);
            }
            let leased =
                lease::try_acquire(&self.db, &lease_name, &self.instance, REFRESH_LEASE, None)
                    .await
                    .map_err(database_error)?;
            if leased {
                let refreshed = async {
                    // Stored by another instance just before the lease was ours?
                    if let Some(stored) = self.replacement(account.id, rejected).await? {
                        return Ok(stored);
                    }
                    let fetched = self.fetch_token(account, rejected.is_some()).await?;
                    self.store_token(account.id, fetched).await
                }
                .await;
                if let Err(error) = lease::release(&self.db, &lease_name, &self.instance).await {
                    tracing::warn!(%error, "cannot release the token refresh lease; it expires on its own");
                }
                return refreshed;
            }
            if tokio::time::Instant::now() >= gives_up {
                return Err(WxError::Transport(
                    "another instance is refreshing this account's access token and has not finished; retry".into(),
                ));
            }
            tokio::time::sleep(REFRESH_POLL).await;
        }
    }

    /// A fresh stored token other than `rejected`, remembered.
    async fn replacement(
        &self,
        account_id: i64,
        rejected: Option<&str>,
    ) -> Result<Option<CachedToken>, WxError> {
        let stored = self
            .stored_token(account_id)
            .await?
            .filter(|t| rejected != Some(t.token.as_str()));
        if let Some(token) = &stored {
            self.remember(account_id, token.clone());
        }
        Ok(stored)
    }

    /// The lock that lets one caller at a time refresh an account's token.
    fn refresh_lock(&self, account_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.refreshing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account_id)
            .or_default()
            .clone()
    }

    fn remember(&self, account_id: i64, token: CachedToken) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account_id, token);
    }

    async fn stored_token(&self, account_id: i64) -> Result<Option<CachedToken>, WxError> {
        let row = accounts::Entity::find_by_id(account_id)
            .one(&self.db)
            .await
            .map_err(database_error)?;
        Ok(row.and_then(|a| {
            let token = CachedToken {
                token: a.access_token,
                expires_at: a.token_expires_at?,
            };
            (!token.token.is_empty() && token.fresh()).then_some(token)
        }))
    }

    /// `stable_token`: does not invalidate tokens other instances still use.
    async fn fetch_token(
        &self,
        account: &accounts::Model,
        force_refresh: bool,
    ) -> Result<CachedToken, WxError> {
        if account.app_secret.is_empty() {
            return Err(WxError::NotConfigured(format!(
                "account {} has no AppSecret",
                account.app_id
            )));
        }
        self.token_fetches.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("wxmp_wechat_token_fetches_total").increment(1);
        let body = json!({
            "grant_type": "client_credential",
            "appid": account.app_id,
            "secret": account.app_secret,
            "force_refresh": force_refresh,
        });
        let value = self
            .send_once(
                reqwest::Method::POST,
                "/cgi-bin/stable_token",
                &[],
                &Body::Json(body),
            )
            .await?;
        let token = value["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let expires_in = value["expires_in"].as_i64().unwrap_or(7200);
        if token.is_empty() {
            return Err(WxError::BadResponse(
                "stable_token returned no access_token".into(),
            ));
        }
        tracing::info!(app_id = %account.app_id, expires_in, "access token fetched");
        Ok(CachedToken {
            token,
            expires_at: Utc::now() + chrono::Duration::seconds(expires_in),
        })
    }

    /// Keeps `fetched` unless a newer token is already stored (compare and set).
    async fn store_token(
        &self,
        account_id: i64,
        fetched: CachedToken,
    ) -> Result<CachedToken, WxError> {
        let updated = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::AccessToken,
                Expr::value(fetched.token.clone()),
            )
            .col_expr(
                accounts::Column::TokenExpiresAt,
                Expr::value(fetched.expires_at),
            )
            .filter(accounts::Column::Id.eq(account_id))
            .filter(
                Condition::any()
                    .add(accounts::Column::TokenExpiresAt.is_null())
                    .add(accounts::Column::TokenExpiresAt.lt(fetched.expires_at)),
            )
            .exec(&self.db)
            .await
            .map_err(database_error)?;
        let winner = if updated.rows_affected == 1 {
            fetched
        } else {
            // A later token is stored already: use it.
            self.stored_token(account_id).await?.unwrap_or(fetched)
        };
        self.remember(account_id, winner.clone());
        Ok(winner)
    }

    /// Replaces `failed`, a token WeChat just rejected, unless another
    /// caller already did. Under the refresh lock: a cached or stored token
    /// other than `failed` is the replacement; otherwise a new one is fetched
    /// with `force_refresh`. (Clearing the cache before the database, as this
    /// once did, let a caller in between reload the rejected token.)
    async fn replace_rejected(
        &self,
        account: &accounts::Model,
        failed: &str,
    ) -> Result<(), WxError> {
        let lock = self.refresh_lock(account.id);
        let _one_refresh = lock.lock().await;
        if self.cached(account.id).is_some_and(|t| t.token != failed) {
            return Ok(());
        }
        self.refresh_shared(account, Some(failed)).await?;
        Ok(())
    }

    /// Calls an API with the account's token. A rejected token is replaced and
    /// the call retried once; "busy" (-1) is retried with backoff; nothing
    /// else is retried.
    pub async fn call(
        &self,
        account: &accounts::Model,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Body,
    ) -> Result<Value, WxError> {
        let mut token_retried = false;
        let mut busy_retries = 0;
        loop {
            let token = self.access_token(account).await?;
            let mut full_query = vec![("access_token", token.clone())];
            full_query.extend(query.iter().cloned());
            match self
                .send_once(method.clone(), path, &full_query, &body)
                .await
            {
                Err(WxError::Api { errcode, .. })
                    if TOKEN_ERRORS.contains(&errcode) && !token_retried =>
                {
                    token_retried = true;
                    tracing::warn!(app_id = %account.app_id, errcode, "access token rejected; refreshing once");
                    self.replace_rejected(account, &token).await?;
                }
                Err(WxError::Api { errcode: BUSY, .. }) if busy_retries < 2 => {
                    busy_retries += 1;
                    tokio::time::sleep(Duration::from_millis(200 * (1 << busy_retries))).await;
                }
                other => {
                    let outcome = match &other {
                        Ok(_) => "ok".to_string(),
                        Err(WxError::Api { errcode, .. }) => errcode.to_string(),
                        Err(_) => "error".to_string(),
                    };
                    metrics::counter!("wxmp_wechat_api_calls_total", "outcome" => outcome)
                        .increment(1);
                    return other;
                }
            }
        }
    }

    async fn send_once(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: &Body,
    ) -> Result<Value, WxError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .query(query);
        request = match body {
            Body::Empty => request,
            // WeChat wants UTF-8 as is, not \u escapes.
            Body::Json(value) => request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(value.to_string()),
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for part in parts {
                    let mut p = reqwest::multipart::Part::bytes(part.bytes.clone());
                    if let Some(file_name) = &part.file_name {
                        p = p.file_name(file_name.clone());
                    }
                    if let Some(content_type) = &part.content_type {
                        p = p.mime_str(content_type).map_err(transport_error)?;
                    }
                    form = form.part(part.name.clone(), p);
                }
                request.multipart(form)
            }
        };
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let text = response.text().await.map_err(transport_error)?;
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            WxError::BadResponse(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        match value.get("errcode").and_then(Value::as_i64) {
            Some(0) | None => Ok(value),
            Some(errcode) => Err(WxError::Api {
                errcode,
                errmsg: value["errmsg"].as_str().unwrap_or_default().to_string(),
            }),
        }
    }
}

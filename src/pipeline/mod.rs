//! The WeChat callback: verify → decrypt → parse → dedupe → store → dispatch
//! → reply, for plaintext, compatible and AES accounts.

pub mod accounts;
pub mod chain;
pub mod inflight;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use tokio::time::Instant;
use utoipa::openapi::path::HttpMethod;

use crate::api::{Api, Operation};
use crate::entity::messages;
use crate::error::AppError;
use crate::state::AppState;
use crate::wechat::{reply, signature, InboundMessage, MessageKind, Reply};
use accounts::CallbackAccount;
use chain::Context;
use inflight::Claim;
use store::{FanChange, Inbound, Stored, Subscription};

/// WeChat's messages are small; anything larger is not from WeChat.
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;
const PATH: &str = "/wechat/official_account/callback";

pub const MODE_PLAINTEXT: i16 = 0;
pub const MODE_COMPATIBLE: i16 = 1;
pub const MODE_AES: i16 = 2;

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
            .query("signature", "sha1 of token, timestamp and nonce")
            .query("timestamp", "unix seconds")
            .query("nonce", "random string")
    };
    let with_app = format!("{PATH}/{{app_id}}");
    let post_doc = |path: &str, summary: &str| {
        doc(HttpMethod::Post, path, summary)
            .query(
                "msg_signature",
                "signature over the Encrypt element (AES and compatible modes)",
            )
            .query("encrypt_type", "aes when encrypted")
    };
    api.route(
        doc(
            HttpMethod::Get,
            PATH,
            "URL verification: echoes echostr when the signature matches an account's token",
        )
        .query("echostr", "string to echo"),
        routes(),
    )
    .documented(post_doc(
        PATH,
        "A message or event from WeChat; the account is found by ToUserName",
    ))
    .route(
        doc(
            HttpMethod::Get,
            &with_app,
            "URL verification for one account",
        )
        .query("echostr", "string to echo"),
        routes_for_app(),
    )
    .documented(post_doc(
        &with_app,
        "A message or event from WeChat for one account",
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    signature: String,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    nonce: String,
    echostr: Option<String>,
    msg_signature: Option<String>,
}

fn unauthorized(reason: &str) -> AppError {
    AppError::Unauthorized(format!("callback refused: {reason}"))
}

/// Checks `signature` against the account's token and the timestamp window.
fn verify_request(
    state: &AppState,
    account: &CallbackAccount,
    query: &CallbackQuery,
) -> Result<(), AppError> {
    if !signature::verify(
        &query.signature,
        &[&account.model.token, &query.timestamp, &query.nonce],
    ) {
        return Err(unauthorized("bad or missing signature"));
    }
    check_timestamp(state, &query.timestamp)
}

fn check_timestamp(state: &AppState, timestamp: &str) -> Result<(), AppError> {
    let max_age = state.config.callback_max_age_secs;
    if max_age == 0 {
        return Ok(());
    }
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| unauthorized("timestamp is not a number"))?;
    let skew = (chrono::Utc::now().timestamp() - sent).unsigned_abs();
    if skew > max_age {
        return Err(unauthorized(&format!(
            "timestamp is {skew} s away from now (limit {max_age} s): a replay or a wrong clock"
        )));
    }
    Ok(())
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

fn parse_body(body: &str) -> Result<crate::wechat::xml::Fields, AppError> {
    crate::wechat::xml::parse(body).map_err(|e| AppError::BadRequest(format!("callback body: {e}")))
}

/// The message to trust (decrypted when the request is encrypted) and the
/// XML it came from. A plaintext body is parsed only once.
fn open_message(
    account: &CallbackAccount,
    query: &CallbackQuery,
    body: &str,
    outer: crate::wechat::xml::Fields,
) -> Result<(InboundMessage, String, bool), AppError> {
    let parsed = |result: Result<InboundMessage, crate::wechat::message::ParseError>| {
        result.map_err(|e| AppError::BadRequest(format!("message: {e}")))
    };
    let encrypted = outer.get("Encrypt").filter(|e| !e.is_empty());
    let mode = account.model.message_mode;
    match (mode, encrypted) {
        (MODE_COMPATIBLE | MODE_AES, Some(encrypted)) => {
            let given = query
                .msg_signature
                .as_deref()
                .ok_or_else(|| unauthorized("msg_signature is missing for an encrypted message"))?;
            if !signature::verify(
                given,
                &[
                    &account.model.token,
                    &query.timestamp,
                    &query.nonce,
                    encrypted,
                ],
            ) {
                return Err(unauthorized("bad msg_signature"));
            }
            let crypto = account.crypto.as_ref().ok_or_else(|| {
                AppError::BadRequest(
                    "the account has no valid EncodingAESKey to decrypt with".into(),
                )
            })?;
            let xml = crypto
                .decrypt(encrypted)
                .map_err(|e| AppError::BadRequest(format!("cannot decrypt: {e}")))?;
            Ok((parsed(InboundMessage::parse(&xml))?, xml, true))
        }
        (MODE_AES, None) => Err(AppError::BadRequest(
            "the account is in AES mode but the message is not encrypted".into(),
        )),
        _ => Ok((
            parsed(InboundMessage::from_fields(outer))?,
            body.to_string(),
            false,
        )),
    }
}

async fn receive(
    state: AppState,
    account: Arc<CallbackAccount>,
    query: CallbackQuery,
    body: &str,
    outer: Option<crate::wechat::xml::Fields>,
    arrival: Instant,
) -> Result<Response, AppError> {
    let deadline = arrival + Duration::from_millis(state.config.callback_deadline_ms);
    verify_request(&state, &account, &query)?;
    let outer = match outer {
        Some(outer) => outer,
        None => parse_body(body)?,
    };
    let (message, xml, was_encrypted) = open_message(&account, &query, body, outer)?;
    let original_id = &account.model.original_id;
    if !original_id.is_empty()
        && message.to_user != *original_id
        && message.to_user != account.model.app_id
    {
        return Err(AppError::BadRequest(format!(
            "the message is addressed to {:?}, not to this account ({original_id})",
            message.to_user
        )));
    }
    let encode = |reply_xml: Option<&str>| encode_reply(&account, was_encrypted, reply_xml);

    let key = (account.model.id, message.dedupe_key());
    let claim = match state.inflight.claim(key.clone()) {
        Claim::Waiter(mut waiter) => {
            // A retry while the first attempt runs: answer what it answers. If
            // it failed or is still busy, ask WeChat to retry once more.
            let remaining = deadline.saturating_duration_since(Instant::now());
            return match tokio::time::timeout(remaining, waiter.wait()).await {
                Ok(Ok(reply)) => {
                    tracing::info!(app_id = %account.model.app_id, key = %key.1, "retry answered from the first attempt");
                    Ok(encode(reply.as_deref()))
                }
                _ => Err(AppError::Unavailable(
                    "the first attempt of this message did not finish; retry".into(),
                )),
            };
        }
        Claim::Owner(claim) => claim,
    };

    let message = Arc::new(message);
    let now = crate::admin::now();
    let message_id = state.ids.next_id()?;
    let inbound = inbound_record(&state, &account, &message, &xml, message_id, now)?;
    match state.store.record_inbound(inbound).await {
        Ok(Stored::New) => {}
        Ok(Stored::Duplicate(first_id)) => {
            let reply = stored_reply(&state, first_id, deadline).await;
            claim.finish(reply.clone());
            return Ok(encode(reply.as_deref()));
        }
        Err(error) => {
            // Never `success` for a message that was not stored: WeChat retries.
            tracing::error!(app_id = %account.model.app_id, %error, "received message not stored");
            return Err(AppError::Unavailable(
                "the message could not be stored; retry".into(),
            ));
        }
    }
    if message.msg_type == "image" {
        state.jobs.notify();
    }

    let ctx = Arc::new(Context::new(
        state.clone(),
        account.clone(),
        message.clone(),
        message_id,
    ));
    let reply = state.chain.dispatch(ctx, deadline).await;
    let reply_xml = match reply {
        Some((handler, reply)) => {
            let created = chrono::Utc::now().timestamp();
            let xml = reply.to_xml(&message.from_user, &message.to_user, created);
            let mut row = outbound_message(
                &state,
                account.model.id,
                &message.from_user,
                &reply,
                Some(message_id),
                &handler,
            )?;
            row.raw_xml = xml.clone();
            if let Err(error) = state.store.record_reply(row).await {
                tracing::error!(app_id = %account.model.app_id, %error, "reply sent but not stored");
            }
            Some(xml)
        }
        None => None,
    };
    claim.finish(reply_xml.clone());
    Ok(encode(reply_xml.as_deref()))
}

/// The received message as a row, with the fan's bookkeeping and its jobs.
fn inbound_record(
    state: &AppState,
    account: &CallbackAccount,
    message: &InboundMessage,
    xml: &str,
    id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Inbound, AppError> {
    use crate::wechat::Event;
    let fields = &message.fields;
    let mut row = messages::Model {
        id,
        account_id: account.model.id,
        openid: message.from_user.clone(),
        msg_id: message.msg_id,
        msg_type: message.msg_type.clone(),
        direction: 1,
        content: fields.text("Content"),
        pic_url: fields.text("PicUrl"),
        event_type: fields.text("Event"),
        event_key: fields.text("EventKey"),
        media_id: fields.text("MediaId"),
        thumb_media_id: fields.text("ThumbMediaId"),
        format: fields.text("Format"),
        recognition: fields.text("Recognition"),
        raw_xml: xml.to_string(),
        dedupe_key: Some(message.dedupe_key()),
        create_time: chrono::DateTime::from_timestamp(message.create_time, 0),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    match &message.kind {
        MessageKind::Location { x, y, scale, label } => {
            row.location_x = *x;
            row.location_y = *y;
            row.scale = scale.unwrap_or(0);
            row.label = label.clone();
        }
        MessageKind::Link {
            title,
            description,
            url,
        } => {
            row.link_title = title.clone();
            row.link_description = description.clone();
            row.link_url = url.clone();
        }
        MessageKind::Event(Event::Location {
            latitude,
            longitude,
            precision,
        }) => {
            row.location_x = *latitude;
            row.location_y = *longitude;
            row.scale = precision.map(|p| p as i32).unwrap_or(0);
        }
        MessageKind::Event(Event::LocationSelect {
            x, y, scale, label, ..
        }) => {
            row.location_x = *x;
            row.location_y = *y;
            row.scale = scale.unwrap_or(0);
            row.label = label.clone();
        }
        _ => {}
    }
    let subscription = match message.event() {
        Some(Event::Subscribe { scene, .. }) => Some(Subscription::Subscribed {
            qr_scene: scene.clone(),
        }),
        Some(Event::Unsubscribe) => Some(Subscription::Unsubscribed),
        _ => None,
    };
    let is_system_report = matches!(
        message.event(),
        Some(Event::TemplateSendJobFinish { .. } | Event::MassSendJobFinish { .. })
    );
    let fan = (!is_system_report).then(|| FanChange {
        account_id: account.model.id,
        openid: message.from_user.clone(),
        at: now,
        interaction: message.is_fan_interaction(),
        subscription,
    });
    let mut jobs = Vec::new();
    if let MessageKind::Image { pic_url, .. } = &message.kind {
        if !pic_url.is_empty() {
            jobs.push(crate::jobs::new_job(
                state.ids.next_id()?,
                crate::jobs::DOWNLOAD_IMAGE,
                serde_json::json!({ "message_id": id.to_string(), "url": pic_url }),
                now,
            ));
        }
    }
    let template_delivery = match message.event() {
        Some(Event::TemplateSendJobFinish {
            msg_id: Some(msgid),
            status,
        }) => Some((*msgid, status.clone())),
        _ => None,
    };
    Ok(Inbound {
        message: row,
        fan,
        jobs,
        template_delivery,
    })
}

/// `answered_by` of messages an admin wrote (`admin:<user name>`).
pub const ADMIN_SENDER: &str = "admin:";

/// A reply we sent (direction 0) as a message row; `reply_to` names the
/// message it answers.
pub fn outbound_message(
    state: &AppState,
    account_id: i64,
    openid: &str,
    reply: &Reply,
    reply_to: Option<i64>,
    answered_by: &str,
) -> Result<messages::Model, AppError> {
    let now = crate::admin::now();
    let mut row = messages::Model {
        id: state.ids.next_id()?,
        account_id,
        openid: openid.to_string(),
        msg_type: reply.msg_type().to_string(),
        direction: 0,
        is_auto_reply: i16::from(!answered_by.starts_with(ADMIN_SENDER)),
        answered_by: answered_by.chars().take(128).collect(),
        content: reply.summary(),
        media_id: reply.media_id().to_string(),
        reply_to,
        create_time: Some(now),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    if let Reply::News { articles } = reply {
        if let Some(first) = articles.first() {
            row.link_title = first.title.clone();
            row.link_description = first.description.clone();
            row.link_url = first.url.clone();
            row.pic_url = first.pic_url.clone();
        }
    }
    Ok(row)
}

/// The reply stored for an earlier attempt of a message, waiting (until the
/// deadline) while another process may still be writing it.
async fn stored_reply(state: &AppState, answered_id: i64, deadline: Instant) -> Option<String> {
    loop {
        let found = messages::Entity::find()
            .filter(messages::Column::ReplyTo.eq(answered_id))
            .filter(messages::Column::Direction.eq(0))
            .one(&state.db)
            .await;
        match found {
            Ok(Some(reply)) => return Some(reply.raw_xml),
            Ok(None) if Instant::now() + Duration::from_millis(400) < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => return None,
        }
    }
}

/// The HTTP answer: `success` for no reply; the reply encrypted for AES
/// accounts and for encrypted requests of compatible accounts; else plain.
fn encode_reply(
    account: &CallbackAccount,
    was_encrypted: bool,
    reply_xml: Option<&str>,
) -> Response {
    let Some(xml) = reply_xml else {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "success",
        )
            .into_response();
    };
    let encrypt = account.model.message_mode == MODE_AES
        || (account.model.message_mode == MODE_COMPATIBLE && was_encrypted);
    let body = match (&account.crypto, encrypt) {
        (Some(crypto), true) => {
            let encrypted = crypto.encrypt(xml);
            let timestamp = chrono::Utc::now().timestamp().to_string();
            let nonce = random_nonce();
            let msg_signature =
                signature::sign(&[&account.model.token, &timestamp, &nonce, &encrypted]);
            reply::encrypted_envelope(&encrypted, &msg_signature, &timestamp, &nonce)
        }
        _ => xml.to_string(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn random_nonce() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

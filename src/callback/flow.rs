//! One message's way through the callback: check the signature and the
//! timestamp, open (decrypt) the message, claim it against retries, store it,
//! run the chain, store and encode the reply. Every message is committed
//! before its reply leaves; one that cannot be stored gets a 503, so WeChat
//! retries.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::accounts::CallbackAccount;
use super::chain::{Answer, Context};
use super::inflight::{Claim, Owner};
use super::record::inbound_record;
use super::store::{StoreError, Stored};
use crate::entity::enums::{Direction, MessageMode};
use crate::entity::messages;
use crate::error::AppError;
use crate::messages::service::{outbound_message, Outgoing};
use crate::state::AppState;
use crate::wechat::{reply, signature, CryptoError, InboundMessage};

#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    pub signature: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub nonce: String,
    pub echostr: Option<String>,
    pub msg_signature: Option<String>,
}

pub fn unauthorized(reason: &str) -> AppError {
    AppError::Unauthorized(format!("callback refused: {reason}"))
}

/// Checks `signature` against the account's token and the timestamp window.
pub fn verify_request(
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

pub fn check_timestamp(state: &AppState, timestamp: &str) -> Result<(), AppError> {
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

pub fn parse_body(body: &str) -> Result<crate::wechat::xml::Fields, AppError> {
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
    let mode = MessageMode::from_code(account.model.message_mode);
    match (mode, encrypted) {
        (Some(MessageMode::Compatible | MessageMode::Aes), Some(encrypted)) => {
            let given = query
                .msg_signature
                .as_deref()
                .ok_or_else(|| unauthorized("msg_signature is missing for an encrypted message"))?;
            let (token, timestamp, nonce) = (&account.model.token, &query.timestamp, &query.nonce);
            let Some(crypto) = account.crypto.as_ref() else {
                // A forged request is refused as forged before anything is
                // said about the account's key.
                return Err(
                    if signature::verify(given, &[token, timestamp, nonce, encrypted]) {
                        AppError::BadRequest(
                            "the account has no valid EncodingAESKey to decrypt with".into(),
                        )
                    } else {
                        unauthorized("bad msg_signature")
                    },
                );
            };
            let xml = crypto
                .open(token, timestamp, nonce, given, encrypted)
                .map_err(|e| match e {
                    CryptoError::BadSignature => unauthorized("bad msg_signature"),
                    e => AppError::BadRequest(format!("cannot decrypt: {e}")),
                })?;
            Ok((parsed(InboundMessage::parse(&xml))?, xml, true))
        }
        (Some(MessageMode::Aes), None) => Err(AppError::BadRequest(
            "the account is in AES mode but the message is not encrypted".into(),
        )),
        _ => Ok((
            parsed(InboundMessage::from_fields(outer))?,
            body.to_string(),
            false,
        )),
    }
}

pub async fn receive(
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
            // A retry while the first attempt runs (or its reply's row is
            // still being written): answer what it answers. If it failed or
            // is still busy, ask WeChat to retry once more.
            metrics::counter!("wxmp_callback_messages_total", "app_id" => account.model.app_id.clone(), "stored" => "duplicate")
                .increment(1);
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

    // Store, dispatch and store the reply run as a task of their own, so
    // they finish even when WeChat hangs up or the store is slow: a message
    // that lands in the database is always dispatched, and a retry meanwhile
    // waits on the claim for that reply. This request waits for the store
    // only until `store_deadline`, then asks WeChat to retry (5xx).
    let store_deadline = arrival + Duration::from_millis(state.config.callback_deadline_ms * 2 / 3);
    let message = Arc::new(message);
    let now = crate::db::now();
    let message_id = state.ids.next_id()?;
    let inbound = inbound_record(&state, &account, &message, &xml, message_id, now)?;
    let (stored_tx, stored_rx) = oneshot::channel();
    let (replied_tx, replied_rx) = oneshot::channel();
    tokio::spawn(store_and_dispatch(
        state,
        account.clone(),
        message,
        inbound,
        claim,
        Deadlines {
            store: store_deadline,
            reply: deadline,
        },
        Reports {
            stored: stored_tx,
            replied: replied_tx,
        },
    ));
    match tokio::time::timeout_at(store_deadline, stored_rx).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => {
            // Never `success` for a message that was not stored: WeChat retries.
            tracing::error!(app_id = %account.model.app_id, %error, "received message not stored");
            return Err(AppError::Unavailable(
                "the message could not be stored; retry".into(),
            ));
        }
        Ok(Err(_)) | Err(_) => {
            tracing::error!(app_id = %account.model.app_id, "received message not stored in time");
            return Err(AppError::Unavailable(
                "the database did not take the message in time; retry".into(),
            ));
        }
    }
    let reply_xml = replied_rx
        .await
        .map_err(|_| AppError::internal("the message's handling stopped before its reply"))?;
    Ok(encode(reply_xml.as_deref()))
}

/// What the handling task tells the request waiting for it.
struct Reports {
    /// How storing the received message went.
    stored: oneshot::Sender<Result<(), StoreError>>,
    /// The reply XML (none: answer `success`), as soon as it is known.
    replied: oneshot::Sender<Option<String>>,
}

struct Deadlines {
    /// The request waits for the store until then.
    store: Instant,
    /// The reply must be ready by then.
    reply: Instant,
}

/// Stores the received message (reporting how that went), runs the chain,
/// reports the reply XML, shared with retries through the claim, and then
/// waits for the reply's row to be committed (written behind: the fan does
/// not wait for it) before it lets go of the claim. A store that lands after
/// the request stopped waiting still gets its message dispatched, with a
/// fresh time budget, for the retry to collect.
async fn store_and_dispatch(
    state: AppState,
    account: Arc<CallbackAccount>,
    message: Arc<InboundMessage>,
    inbound: super::store::Inbound,
    claim: Owner,
    deadlines: Deadlines,
    reports: Reports,
) {
    let Reports { stored, replied } = reports;
    let new_id = inbound.message.id;
    let outcome = state.store.record_inbound(inbound).await;
    let late = Instant::now() >= deadlines.store;
    let deadline = if late {
        Instant::now() + Duration::from_millis(state.config.callback_deadline_ms)
    } else {
        deadlines.reply
    };
    let stored_as = match &outcome {
        Ok(Stored::New) => "new",
        Ok(Stored::Duplicate(_)) => "duplicate",
        Err(_) => "failed",
    };
    metrics::counter!("wxmp_callback_messages_total", "app_id" => account.model.app_id.clone(), "stored" => stored_as)
        .increment(1);
    let message_id = match outcome {
        Ok(Stored::New) => {
            let _ = stored.send(Ok(()));
            new_id
        }
        Ok(Stored::Duplicate(first_id)) => {
            let _ = stored.send(Ok(()));
            match earlier_answer(&state, first_id, deadline).await {
                EarlierAnswer::Answered(reply) => {
                    claim.finish(reply.clone());
                    let _ = replied.send(reply);
                    return;
                }
                // Its first attempt died before the chain ran: this one runs it.
                EarlierAnswer::TakenOver => first_id,
            }
        }
        Err(error) => {
            let _ = stored.send(Err(error));
            return;
        }
    };
    if late {
        tracing::warn!(app_id = %account.model.app_id, message_id, "message stored after its request gave up; dispatched for the retry");
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
    let answer = state.chain.dispatch(ctx, deadline).await;
    let handler = answer.as_ref().map_or("none", |a| a.handler.as_str());
    metrics::counter!("wxmp_callback_replies_total", "app_id" => account.model.app_id.clone(), "handler" => handler.to_owned())
        .increment(1);
    // A rule sending all its replies: the others follow the answer.
    let mut followups = None;
    let (reply_xml, write) = match answer {
        Some(Answer {
            handler,
            reply,
            rule_id,
            followups: more,
        }) => {
            if let (Some(rule_id), false) = (rule_id, more.is_empty()) {
                followups = Some((handler.clone(), rule_id, more));
            }
            let created = chrono::Utc::now().timestamp();
            let xml = reply.to_xml(&message.from_user, &message.to_user, created);
            let outgoing = Outgoing {
                openid: &message.from_user,
                reply: &reply,
                reply_to: Some(message_id),
                answered_by: &handler,
            };
            let write = match outbound_message(&state.ids, account.model.id, &outgoing) {
                Ok(mut row) => {
                    row.raw_xml = xml.clone();
                    // The rule a built-in answered with, for the dashboard.
                    row.rule_id = rule_id;
                    state
                        .store
                        .record_reply(row)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(error) => Err(error.to_string()),
            };
            (Some(xml), write)
        }
        None => (
            None,
            state
                .store
                .mark_handled(message_id)
                .await
                .map_err(|e| e.to_string()),
        ),
    };
    claim.publish(reply_xml.clone());
    let _ = replied.send(reply_xml);
    if let Some((handler, rule_id, replies)) = followups {
        let queued = super::followups::enqueue(
            &state,
            account.model.id,
            &message.from_user,
            message_id,
            &handler,
            rule_id,
            &replies,
        )
        .await;
        if let Err(error) = queued {
            tracing::error!(app_id = %account.model.app_id, message_id, %error, "the rule's other replies are not sent");
        }
    }
    let committed = match write {
        Ok(pending) => pending.committed().await.map_err(|e| e.to_string()),
        Err(error) => Err(error),
    };
    if let Err(error) = committed {
        tracing::error!(app_id = %account.model.app_id, message_id, %error, "reply sent but its record not stored");
    }
    drop(claim);
}

enum EarlierAnswer {
    /// The earlier attempt's reply (`None`: it answered nothing).
    Answered(Option<String>),
    /// The earlier attempt stored the message and then died before its
    /// chain ran; this attempt has taken the message over.
    TakenOver,
}

/// What an earlier attempt of a message answered, waiting (until the
/// deadline) while another process may still be handling it. A message
/// stored longer ago than a whole callback deadline, with no reply and not
/// handled, was abandoned (its process died): the first retry to mark it
/// takes it over, so it is dispatched exactly once more.
async fn earlier_answer(state: &AppState, first_id: i64, deadline: Instant) -> EarlierAnswer {
    let abandoned_after =
        chrono::Duration::milliseconds(state.config.callback_deadline_ms as i64 + 500);
    loop {
        let reply = messages::Entity::find()
            .filter(messages::Column::ReplyTo.eq(first_id))
            .filter(messages::Column::Direction.eq(Direction::Sent))
            .one(&state.db)
            .await;
        let received = messages::Entity::find_by_id(first_id).one(&state.db).await;
        match (reply, received) {
            (Ok(Some(reply)), _) => return EarlierAnswer::Answered(Some(reply.raw_xml)),
            (Ok(None), Ok(Some(first))) if first.handled == 0 => {
                if chrono::Utc::now() >= first.created_at + abandoned_after
                    && take_over(state, first_id).await
                {
                    tracing::warn!(
                        message_id = first_id,
                        "an abandoned message is dispatched by its retry"
                    );
                    return EarlierAnswer::TakenOver;
                }
            }
            _ => return EarlierAnswer::Answered(None),
        }
        if Instant::now() + Duration::from_millis(400) >= deadline {
            return EarlierAnswer::Answered(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Marks an abandoned message handled; true for the one caller that did.
async fn take_over(state: &AppState, message_id: i64) -> bool {
    use sea_orm::sea_query::Expr;
    messages::Entity::update_many()
        .col_expr(messages::Column::Handled, Expr::value(1i16))
        .filter(messages::Column::Id.eq(message_id))
        .filter(messages::Column::Handled.eq(0i16))
        .exec(&state.db)
        .await
        .is_ok_and(|done| done.rows_affected == 1)
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
    let encrypt = match MessageMode::from_code(account.model.message_mode) {
        Some(MessageMode::Aes) => true,
        Some(MessageMode::Compatible) => was_encrypted,
        _ => false,
    };
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

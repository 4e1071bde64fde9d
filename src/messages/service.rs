//! Messages we send: customer-service messages (within the 48-hour window)
//! and the rows that record every reply, passive or not.

use reqwest::Method;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{json, Value};

use crate::entity::enums::Direction;
use crate::entity::{accounts, messages};
use crate::error::AppError;
use crate::ids::IdGenerator;
use crate::wechat::Reply;
use crate::wxapi::Body;
use crate::wxapi::WxApi;
use sea_orm::DatabaseConnection;

/// A reply as WeChat's customer-service message; `None` for kinds that only
/// exist as passive replies.
pub fn custom_message(openid: &str, reply: &Reply) -> Option<Value> {
    let (kind, body) = match reply {
        Reply::Text { content } => ("text", json!({ "content": content })),
        Reply::Image { media_id } => ("image", json!({ "media_id": media_id })),
        Reply::Voice { media_id } => ("voice", json!({ "media_id": media_id })),
        Reply::Video {
            media_id,
            title,
            description,
        } => (
            "video",
            json!({ "media_id": media_id, "title": title, "description": description }),
        ),
        Reply::Music {
            title,
            description,
            music_url,
            hq_music_url,
            thumb_media_id,
        } => (
            "music",
            json!({ "title": title, "description": description, "musicurl": music_url,
                    "hqmusicurl": hq_music_url, "thumb_media_id": thumb_media_id }),
        ),
        Reply::News { articles } => (
            "news",
            json!({ "articles": articles.iter().map(|a| json!({
                "title": a.title, "description": a.description, "url": a.url, "picurl": a.pic_url,
            })).collect::<Vec<_>>() }),
        ),
        Reply::TransferCustomerService => return None,
    };
    Some(json!({ "touser": openid, "msgtype": kind, kind: body }))
}

/// A reply on its way to a fan: to whom, what, in answer to which stored
/// message, and who answered (a handler's name, or `admin:<user name>`).
pub struct Outgoing<'a> {
    pub openid: &'a str,
    pub reply: &'a Reply,
    pub reply_to: Option<i64>,
    pub answered_by: &'a str,
}

/// Sends a reply as a customer-service message and stores it (direction 0).
pub async fn send_and_store(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
    outgoing: Outgoing<'_>,
) -> Result<messages::Model, AppError> {
    let message = custom_message(outgoing.openid, outgoing.reply).ok_or_else(|| {
        AppError::field(
            "msg_type",
            "this kind cannot be sent as a customer-service message",
        )
    })?;
    wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/message/custom/send",
            &[],
            Body::Json(message),
        )
        .await?;
    let row = outbound_message(ids, account.id, &outgoing)?;
    Ok(row.into_active_model().reset_all().insert(db).await?)
}

/// The window in which customer-service messages may be sent.
pub const SERVICE_WINDOW: chrono::Duration = chrono::Duration::hours(48);

/// When the fan last wrote, if that is longer ago than the window (a fan
/// not stored, or who never wrote, is left for WeChat to judge).
pub fn outside_service_window(
    fan: Option<&crate::entity::users::Model>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    fan.and_then(|f| f.last_interact_time)
        .filter(|last| chrono::Utc::now() - *last > SERVICE_WINDOW)
}

/// `answered_by` of messages an admin wrote (`admin:<user name>`).
pub const ADMIN_SENDER: &str = "admin:";

/// A reply we sent (direction 0) as a message row.
pub fn outbound_message(
    ids: &IdGenerator,
    account_id: i64,
    outgoing: &Outgoing<'_>,
) -> Result<messages::Model, AppError> {
    let Outgoing {
        openid,
        reply,
        reply_to,
        answered_by,
    } = *outgoing;
    let now = crate::db::now();
    let mut row = messages::Model {
        id: ids.next_id()?,
        account_id,
        openid: openid.to_string(),
        msg_type: reply.msg_type().to_string(),
        direction: Direction::Sent.code(),
        is_auto_reply: i16::from(!answered_by.starts_with(ADMIN_SENDER)),
        answered_by: answered_by.chars().take(128).collect(),
        content: reply.summary(),
        media_id: reply.media_id().to_string(),
        reply_to,
        handled: 1,
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

//! The received message as rows: the message itself (with the fields of its
//! kind), the fan's bookkeeping, the jobs it needs (image download) and a
//! template delivery report it carries.

use super::accounts::CallbackAccount;
use super::store::{FanChange, Inbound, Subscription};
use crate::entity::enums::Direction;
use crate::entity::messages;
use crate::error::AppError;
use crate::jobs::Job;
use crate::state::AppState;
use crate::wechat::{InboundMessage, MessageKind};

/// The received message as a row, with the fan's bookkeeping and its jobs.
pub fn inbound_record(
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
        direction: Direction::Received.code(),
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
        // Set once the chain has run (see `MessageStore::mark_handled`).
        handled: 0,
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
                crate::media::DownloadImage::NAME,
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

//! The received message as the map scripts read (`ctx.msg`).

use rhai::{Dynamic, Map};

use crate::wechat::{Event, InboundMessage, MessageKind};

/// The message as scripts see it: one map with every field typed.
pub fn message_map(message: &InboundMessage) -> Map {
    let mut map = Map::new();
    let mut put = |key: &str, value: Dynamic| {
        map.insert(key.into(), value);
    };
    put("type", message.msg_type.clone().into());
    put("from", message.from_user.clone().into());
    put("to", message.to_user.clone().into());
    put("create_time", message.create_time.into());
    put(
        "msg_id",
        message
            .msg_id
            .map(|id| Dynamic::from(crate::ids::wechat_id::display(id)))
            .unwrap_or(Dynamic::UNIT),
    );
    let fields: Map = message
        .fields
        .0
        .iter()
        .map(|(k, v)| (k.as_str().into(), Dynamic::from(v.clone())))
        .collect();
    let float = |v: &Option<f64>| v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT);
    match &message.kind {
        MessageKind::Text { content } => put("content", content.clone().into()),
        MessageKind::Image { pic_url, media_id } => {
            put("pic_url", pic_url.clone().into());
            put("media_id", media_id.clone().into());
        }
        MessageKind::Voice {
            media_id,
            format,
            recognition,
        } => {
            put("media_id", media_id.clone().into());
            put("format", format.clone().into());
            put(
                "recognition",
                recognition
                    .clone()
                    .map(Dynamic::from)
                    .unwrap_or(Dynamic::UNIT),
            );
        }
        MessageKind::Video {
            media_id,
            thumb_media_id,
        }
        | MessageKind::ShortVideo {
            media_id,
            thumb_media_id,
        } => {
            put("media_id", media_id.clone().into());
            put("thumb_media_id", thumb_media_id.clone().into());
        }
        MessageKind::Location { x, y, scale, label } => {
            put("location_x", float(x));
            put("location_y", float(y));
            put(
                "scale",
                scale
                    .map(|s| Dynamic::from(i64::from(s)))
                    .unwrap_or(Dynamic::UNIT),
            );
            put("label", label.clone().into());
        }
        MessageKind::Link {
            title,
            description,
            url,
        } => {
            put("title", title.clone().into());
            put("description", description.clone().into());
            put("url", url.clone().into());
        }
        MessageKind::Event(event) => {
            put(
                "event",
                message.event_name().unwrap_or_default().to_string().into(),
            );
            put("event_key", message.event_key().to_string().into());
            match event {
                Event::Subscribe { scene, .. } => put(
                    "scene",
                    scene.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT),
                ),
                Event::Scan { scene, .. } => put("scene", scene.clone().into()),
                Event::Location {
                    latitude,
                    longitude,
                    precision,
                } => {
                    put("latitude", float(latitude));
                    put("longitude", float(longitude));
                    put("precision", float(precision));
                }
                Event::ScanCode {
                    scan_type,
                    scan_result,
                    ..
                } => {
                    put("scan_type", scan_type.clone().into());
                    put("scan_result", scan_result.clone().into());
                }
                Event::LocationSelect {
                    x,
                    y,
                    label,
                    poi_name,
                    ..
                } => {
                    put("location_x", float(x));
                    put("location_y", float(y));
                    put("label", label.clone().into());
                    put("poi_name", poi_name.clone().into());
                }
                Event::TemplateSendJobFinish { msg_id, status } => {
                    put(
                        "template_msg_id",
                        msg_id
                            .map(|id| Dynamic::from(crate::ids::wechat_id::display(id)))
                            .unwrap_or(Dynamic::UNIT),
                    );
                    put("status", status.clone().into());
                }
                _ => {}
            }
        }
        MessageKind::Other => {}
    }
    put("fields", fields.into());
    map
}

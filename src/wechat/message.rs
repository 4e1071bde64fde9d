//! Inbound messages and events, typed. Every field of the XML stays available
//! in [`InboundMessage::fields`], so unknown types and fields are never lost.

use super::xml::{self, Fields, XmlError};

#[derive(Clone, Debug, PartialEq)]
pub struct InboundMessage {
    /// The account's original id (gh_…).
    pub to_user: String,
    /// The fan's openid.
    pub from_user: String,
    /// Unix seconds, as WeChat sent it.
    pub create_time: i64,
    pub msg_type: String,
    /// `MsgId` of ordinary messages (events have none).
    pub msg_id: Option<i64>,
    pub kind: MessageKind,
    pub fields: Fields,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MessageKind {
    Text {
        content: String,
    },
    Image {
        pic_url: String,
        media_id: String,
    },
    Voice {
        media_id: String,
        format: String,
        recognition: Option<String>,
    },
    Video {
        media_id: String,
        thumb_media_id: String,
    },
    ShortVideo {
        media_id: String,
        thumb_media_id: String,
    },
    Location {
        x: Option<f64>,
        y: Option<f64>,
        scale: Option<i32>,
        label: String,
    },
    Link {
        title: String,
        description: String,
        url: String,
    },
    Event(Event),
    /// A type this version does not know; its fields are in `fields`.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PicSource {
    SysPhoto,
    PhotoOrAlbum,
    Weixin,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Follow; from a QR code when `scene` is set (EventKey `qrscene_<scene>`).
    Subscribe {
        scene: Option<String>,
        ticket: Option<String>,
    },
    Unsubscribe,
    /// A follower scanned a parametric QR code.
    Scan {
        scene: String,
        ticket: Option<String>,
    },
    Location {
        latitude: Option<f64>,
        longitude: Option<f64>,
        precision: Option<f64>,
    },
    Click {
        key: String,
    },
    View {
        url: String,
        menu_id: Option<String>,
    },
    ScanCode {
        wait_msg: bool,
        key: String,
        scan_type: String,
        scan_result: String,
    },
    Pics {
        source: PicSource,
        key: String,
        count: u32,
        md5s: Vec<String>,
    },
    LocationSelect {
        key: String,
        x: Option<f64>,
        y: Option<f64>,
        scale: Option<i32>,
        label: String,
        poi_name: String,
    },
    ViewMiniprogram {
        pagepath: String,
        menu_id: Option<String>,
    },
    /// Delivery report of a template message.
    TemplateSendJobFinish {
        msg_id: Option<i64>,
        status: String,
    },
    MassSendJobFinish {
        msg_id: Option<i64>,
        status: String,
        total_count: Option<i64>,
        sent_count: Option<i64>,
        error_count: Option<i64>,
    },
    /// An event this version does not know by name.
    Other {
        name: String,
        key: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("the message has no {0}")]
    Missing(&'static str),
}

impl InboundMessage {
    pub fn parse(xml_text: &str) -> Result<Self, ParseError> {
        Self::from_fields(xml::parse(xml_text)?)
    }

    pub fn from_fields(fields: Fields) -> Result<Self, ParseError> {
        let required = |name: &'static str| {
            fields
                .get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or(ParseError::Missing(name))
        };
        let to_user = required("ToUserName")?;
        let from_user = required("FromUserName")?;
        let msg_type = required("MsgType")?;
        let create_time = fields.parse_num("CreateTime").unwrap_or(0);
        let msg_id = fields.get("MsgId").and_then(crate::ids::wechat_id::parse);
        let text = |name: &str| fields.text(name);
        let kind = match msg_type.as_str() {
            "text" => MessageKind::Text {
                content: text("Content"),
            },
            "image" => MessageKind::Image {
                pic_url: text("PicUrl"),
                media_id: text("MediaId"),
            },
            "voice" => MessageKind::Voice {
                media_id: text("MediaId"),
                format: text("Format"),
                recognition: fields.get("Recognition").map(str::to_string),
            },
            "video" => MessageKind::Video {
                media_id: text("MediaId"),
                thumb_media_id: text("ThumbMediaId"),
            },
            "shortvideo" => MessageKind::ShortVideo {
                media_id: text("MediaId"),
                thumb_media_id: text("ThumbMediaId"),
            },
            "location" => MessageKind::Location {
                x: fields.parse_num("Location_X"),
                y: fields.parse_num("Location_Y"),
                scale: fields.parse_num("Scale"),
                label: text("Label"),
            },
            "link" => MessageKind::Link {
                title: text("Title"),
                description: text("Description"),
                url: text("Url"),
            },
            "event" => MessageKind::Event(parse_event(&fields)),
            _ => MessageKind::Other,
        };
        Ok(Self {
            to_user,
            from_user,
            create_time,
            msg_type,
            msg_id,
            kind,
            fields,
        })
    }

    /// The `Event` name as sent (events only).
    pub fn event_name(&self) -> Option<&str> {
        matches!(self.kind, MessageKind::Event(_))
            .then(|| self.fields.get("Event").unwrap_or_default())
    }

    pub fn event_key(&self) -> &str {
        self.fields.get("EventKey").unwrap_or_default()
    }

    pub fn event(&self) -> Option<&Event> {
        match &self.kind {
            MessageKind::Event(event) => Some(event),
            _ => None,
        }
    }

    /// What identifies a retry of this message: `MsgId` for messages; for
    /// events (which have none) sender, time, event and key, and the job's
    /// `MsgID` for delivery reports (two reports to one fan may share a second).
    pub fn dedupe_key(&self) -> String {
        match (self.msg_id, self.event_name()) {
            (Some(id), _) => format!("msg:{}", crate::ids::wechat_id::display(id)),
            (None, Some(event)) => {
                let mut key = format!(
                    "evt:{}:{}:{}:{}",
                    self.from_user,
                    self.create_time,
                    event,
                    self.event_key()
                );
                if let Some(
                    Event::TemplateSendJobFinish {
                        msg_id: Some(job), ..
                    }
                    | Event::MassSendJobFinish {
                        msg_id: Some(job), ..
                    },
                ) = self.event()
                {
                    key.push(':');
                    key.push_str(&crate::ids::wechat_id::display(*job));
                }
                key
            }
            (None, None) => format!(
                "at:{}:{}:{}",
                self.from_user, self.create_time, self.msg_type
            ),
        }
    }

    /// Whether the fan did something (counts as an interaction): not the
    /// delivery reports WeChat itself sends, and not leaving.
    pub fn is_fan_interaction(&self) -> bool {
        !matches!(
            self.event(),
            Some(
                Event::TemplateSendJobFinish { .. }
                    | Event::MassSendJobFinish { .. }
                    | Event::Unsubscribe
            )
        )
    }
}

fn parse_event(fields: &Fields) -> Event {
    let name = fields.text("Event");
    let key = fields.text("EventKey");
    let menu_id = fields.get("MenuId").map(str::to_string);
    let ticket = fields
        .get("Ticket")
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let pics = |source| Event::Pics {
        source,
        key: key.clone(),
        count: fields.parse_num("SendPicsInfo.Count").unwrap_or(0),
        md5s: fields.all("SendPicsInfo.PicList.item.PicMd5Sum"),
    };
    let scan_code = |wait_msg| Event::ScanCode {
        wait_msg,
        key: key.clone(),
        scan_type: fields.text("ScanCodeInfo.ScanType"),
        scan_result: fields.text("ScanCodeInfo.ScanResult"),
    };
    // Event names are case-insensitive in practice (`subscribe`, `SCAN`, `CLICK`).
    match name.to_ascii_lowercase().as_str() {
        "subscribe" => Event::Subscribe {
            scene: key.strip_prefix("qrscene_").map(str::to_string),
            ticket,
        },
        "unsubscribe" => Event::Unsubscribe,
        "scan" => Event::Scan { scene: key, ticket },
        "location" => Event::Location {
            latitude: fields.parse_num("Latitude"),
            longitude: fields.parse_num("Longitude"),
            precision: fields.parse_num("Precision"),
        },
        "click" => Event::Click { key },
        "view" => Event::View { url: key, menu_id },
        "scancode_push" => scan_code(false),
        "scancode_waitmsg" => scan_code(true),
        "pic_sysphoto" => pics(PicSource::SysPhoto),
        "pic_photo_or_album" => pics(PicSource::PhotoOrAlbum),
        "pic_weixin" => pics(PicSource::Weixin),
        "location_select" => Event::LocationSelect {
            key,
            x: fields.parse_num("SendLocationInfo.Location_X"),
            y: fields.parse_num("SendLocationInfo.Location_Y"),
            scale: fields.parse_num("SendLocationInfo.Scale"),
            label: fields.text("SendLocationInfo.Label"),
            poi_name: fields.text("SendLocationInfo.Poiname"),
        },
        "view_miniprogram" => Event::ViewMiniprogram {
            pagepath: key,
            menu_id,
        },
        "templatesendjobfinish" => Event::TemplateSendJobFinish {
            msg_id: fields
                .get("MsgID")
                .or_else(|| fields.get("MsgId"))
                .and_then(crate::ids::wechat_id::parse),
            status: fields.text("Status"),
        },
        "masssendjobfinish" => Event::MassSendJobFinish {
            msg_id: fields
                .get("MsgID")
                .or_else(|| fields.get("MsgId"))
                .and_then(crate::ids::wechat_id::parse),
            status: fields.text("Status"),
            total_count: fields.parse_num("TotalCount"),
            sent_count: fields.parse_num("SentCount"),
            error_count: fields.parse_num("ErrorCount"),
        },
        _ => Event::Other { name, key },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> InboundMessage {
        InboundMessage::parse(&format!(
            "<xml><ToUserName>gh_a</ToUserName><FromUserName>o_fan</FromUserName><CreateTime>1700000000</CreateTime>{body}</xml>"
        ))
        .unwrap()
    }

    #[test]
    fn messages() {
        let m =
            msg("<MsgType>text</MsgType><Content>你好</Content><MsgId>1234567890123456789</MsgId>");
        assert_eq!(
            m.kind,
            MessageKind::Text {
                content: "你好".into()
            }
        );
        assert_eq!(m.msg_id, Some(1234567890123456789));
        assert_eq!(m.dedupe_key(), "msg:1234567890123456789");
        let m = msg("<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><Recognition>腾讯</Recognition>");
        assert_eq!(
            m.kind,
            MessageKind::Voice {
                media_id: "m".into(),
                format: "amr".into(),
                recognition: Some("腾讯".into())
            }
        );
        let m = msg("<MsgType>location</MsgType><Location_X>23.13</Location_X><Location_Y>113.26</Location_Y><Scale>20</Scale><Label>广州</Label>");
        assert_eq!(
            m.kind,
            MessageKind::Location {
                x: Some(23.13),
                y: Some(113.26),
                scale: Some(20),
                label: "广州".into()
            }
        );
        let m = msg("<MsgType>hologram</MsgType><Depth>3</Depth>");
        assert_eq!(m.kind, MessageKind::Other);
        assert_eq!(m.fields.get("Depth"), Some("3"));
    }

    #[test]
    fn events() {
        let m = msg("<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_42</EventKey><Ticket>T</Ticket>");
        assert_eq!(
            m.event(),
            Some(&Event::Subscribe {
                scene: Some("42".into()),
                ticket: Some("T".into())
            })
        );
        assert_eq!(m.dedupe_key(), "evt:o_fan:1700000000:subscribe:qrscene_42");
        let m = msg("<MsgType>event</MsgType><Event>subscribe</Event><EventKey></EventKey>");
        assert_eq!(
            m.event(),
            Some(&Event::Subscribe {
                scene: None,
                ticket: None
            })
        );
        let m = msg("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>V1001_GOOD</EventKey>");
        assert_eq!(
            m.event(),
            Some(&Event::Click {
                key: "V1001_GOOD".into()
            })
        );
        let m = msg(
            "<MsgType>event</MsgType><Event>pic_weixin</Event><EventKey>k</EventKey><SendPicsInfo><Count>1</Count>\
             <PicList><item><PicMd5Sum>abc</PicMd5Sum></item></PicList></SendPicsInfo>",
        );
        assert_eq!(
            m.event(),
            Some(&Event::Pics {
                source: PicSource::Weixin,
                key: "k".into(),
                count: 1,
                md5s: vec!["abc".into()]
            })
        );
        let m = msg("<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID><Status>failed:user block</Status>");
        assert_eq!(
            m.event(),
            Some(&Event::TemplateSendJobFinish {
                msg_id: Some(200163836),
                status: "failed:user block".into()
            })
        );
        assert!(!m.is_fan_interaction());
        let m = msg("<MsgType>event</MsgType><Event>weapp_audit_success</Event>");
        assert_eq!(
            m.event(),
            Some(&Event::Other {
                name: "weapp_audit_success".into(),
                key: String::new()
            })
        );
    }

    #[test]
    fn required_fields() {
        assert_eq!(
            InboundMessage::parse("<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>"),
            Err(ParseError::Missing("FromUserName"))
        );
    }
}

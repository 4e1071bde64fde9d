//! Messages as WeChat sends them, made up for trying things out: dry runs of
//! plugins, `wxmp simulate`, `wxmp plugin test`.

use super::reply::cdata;

#[derive(Clone, Debug)]
pub enum SampleMessage {
    Text(String),
    /// An event name (`subscribe`, `unsubscribe`, `SCAN`, `CLICK`, …) and its key.
    Event {
        event: String,
        key: String,
    },
    /// An image message with this picture URL and media id.
    Image {
        pic_url: String,
        media_id: String,
    },
    /// A voice message (`amr` or `speex`), with WeChat's recognition of it.
    Voice {
        media_id: String,
        format: String,
        recognition: Option<String>,
    },
}

impl SampleMessage {
    /// The message's XML, from the fan `from` (openid) to the account `to`
    /// (its original id), sent at `now` (unix seconds).
    pub fn to_xml(&self, to: &str, from: &str, now: i64) -> String {
        // Unique enough that two samples in one second are not duplicates.
        let msg_id = now * 1000 + i64::from(rand::random::<u16>() % 1000);
        let body = match self {
            SampleMessage::Text(text) => format!(
                "<MsgType><![CDATA[text]]></MsgType><Content>{}</Content><MsgId>{msg_id}</MsgId>",
                cdata(text)
            ),
            SampleMessage::Event { event, key } => format!(
                "<MsgType><![CDATA[event]]></MsgType><Event>{}</Event><EventKey>{}</EventKey>",
                cdata(event),
                cdata(key)
            ),
            SampleMessage::Image { pic_url, media_id } => format!(
                "<MsgType><![CDATA[image]]></MsgType><PicUrl>{}</PicUrl>\
                 <MediaId>{}</MediaId><MsgId>{msg_id}</MsgId>",
                cdata(pic_url),
                cdata(media_id)
            ),
            SampleMessage::Voice {
                media_id,
                format,
                recognition,
            } => format!(
                "<MsgType><![CDATA[voice]]></MsgType><MediaId>{}</MediaId>\
                 <Format>{}</Format>{}<MsgId>{msg_id}</MsgId>",
                cdata(media_id),
                cdata(format),
                recognition
                    .as_ref()
                    .map(|r| format!("<Recognition>{}</Recognition>", cdata(r)))
                    .unwrap_or_default()
            ),
        };
        format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
             <CreateTime>{now}</CreateTime>{body}</xml>",
            cdata(to),
            cdata(from)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::{InboundMessage, MessageKind};

    #[test]
    fn samples_parse_as_the_messages_they_stand_for() {
        let text = SampleMessage::Text("你好 ]]> x".into()).to_xml("gh_1", "o_1", 1_700_000_000);
        let parsed = InboundMessage::parse(&text).unwrap();
        assert_eq!(parsed.from_user, "o_1");
        assert!(
            matches!(parsed.kind, MessageKind::Text { ref content } if content == "你好 ]]> x")
        );
        let event = SampleMessage::Event {
            event: "CLICK".into(),
            key: "K".into(),
        };
        assert!(InboundMessage::parse(&event.to_xml("gh_1", "o_1", 1))
            .unwrap()
            .event()
            .is_some());
        let voice = SampleMessage::Voice {
            media_id: "v1".into(),
            format: "amr".into(),
            recognition: Some("你好".into()),
        };
        let parsed = InboundMessage::parse(&voice.to_xml("gh_1", "o_1", 1)).unwrap();
        assert!(matches!(
            parsed.kind,
            MessageKind::Voice { ref media_id, ref recognition, .. }
                if media_id == "v1" && recognition.as_deref() == Some("你好")
        ));
    }
}

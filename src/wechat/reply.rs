//! Passive replies, rendered to the XML WeChat expects, and the encrypted
//! envelope for AES mode.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub pic_url: String,
    #[serde(default)]
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Text {
        content: String,
    },
    Image {
        media_id: String,
    },
    Voice {
        media_id: String,
    },
    Video {
        media_id: String,
        title: String,
        description: String,
    },
    Music {
        title: String,
        description: String,
        music_url: String,
        hq_music_url: String,
        thumb_media_id: String,
    },
    News {
        articles: Vec<Article>,
    },
    TransferCustomerService,
}

/// The loose fields a reply is made of, as rules store them and admins send
/// them; [`Reply::from_fields`] turns them into a reply of one `msg_type`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyFields {
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub media_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub music_url: String,
    #[serde(default)]
    pub hq_music_url: String,
    #[serde(default)]
    pub thumb_media_id: String,
    #[serde(default)]
    pub articles: Vec<Article>,
}

/// Text inside CDATA; a `]]>` in it is split across two sections.
pub fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

impl Reply {
    /// The reply of kind `msg_type` (text, image, voice, video, music, news)
    /// made of `fields`; `None` for another kind.
    pub fn from_fields(msg_type: &str, fields: ReplyFields) -> Option<Reply> {
        let ReplyFields {
            content,
            media_id,
            title,
            description,
            music_url,
            hq_music_url,
            thumb_media_id,
            articles,
        } = fields;
        Some(match msg_type {
            "text" => Reply::Text { content },
            "image" => Reply::Image { media_id },
            "voice" => Reply::Voice { media_id },
            "video" => Reply::Video {
                media_id,
                title,
                description,
            },
            "music" => Reply::Music {
                title,
                description,
                music_url,
                hq_music_url,
                thumb_media_id,
            },
            "news" => Reply::News { articles },
            _ => return None,
        })
    }

    /// The first field WeChat needs that is empty, with what is wrong.
    pub fn missing_field(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Reply::Text { content } if content.trim().is_empty() => {
                Some(("content", "is required"))
            }
            Reply::Image { media_id }
            | Reply::Voice { media_id }
            | Reply::Video { media_id, .. }
                if media_id.trim().is_empty() =>
            {
                Some(("media_id", "is required"))
            }
            Reply::Music { music_url, .. } if music_url.trim().is_empty() => {
                Some(("music_url", "is required"))
            }
            Reply::Music { thumb_media_id, .. } if thumb_media_id.trim().is_empty() => {
                Some(("thumb_media_id", "is required"))
            }
            Reply::News { articles } if articles.is_empty() || articles.len() > 8 => {
                Some(("articles", "1 to 8 articles"))
            }
            _ => None,
        }
    }

    /// `MsgType` of the reply.
    pub fn msg_type(&self) -> &'static str {
        match self {
            Reply::Text { .. } => "text",
            Reply::Image { .. } => "image",
            Reply::Voice { .. } => "voice",
            Reply::Video { .. } => "video",
            Reply::Music { .. } => "music",
            Reply::News { .. } => "news",
            Reply::TransferCustomerService => "transfer_customer_service",
        }
    }

    /// The reply document: to the fan (`to_user` = openid) from the account
    /// (`from_user` = original id).
    pub fn to_xml(&self, to_user: &str, from_user: &str, create_time: i64) -> String {
        let body = match self {
            Reply::Text { content } => format!("<Content>{}</Content>", cdata(content)),
            Reply::Image { media_id } => format!("<Image><MediaId>{}</MediaId></Image>", cdata(media_id)),
            Reply::Voice { media_id } => format!("<Voice><MediaId>{}</MediaId></Voice>", cdata(media_id)),
            Reply::Video { media_id, title, description } => format!(
                "<Video><MediaId>{}</MediaId><Title>{}</Title><Description>{}</Description></Video>",
                cdata(media_id),
                cdata(title),
                cdata(description)
            ),
            Reply::Music { title, description, music_url, hq_music_url, thumb_media_id } => format!(
                "<Music><Title>{}</Title><Description>{}</Description><MusicUrl>{}</MusicUrl>\
                 <HQMusicUrl>{}</HQMusicUrl><ThumbMediaId>{}</ThumbMediaId></Music>",
                cdata(title),
                cdata(description),
                cdata(music_url),
                cdata(hq_music_url),
                cdata(thumb_media_id)
            ),
            Reply::News { articles } => {
                let items: String = articles
                    .iter()
                    .map(|a| {
                        format!(
                            "<item><Title>{}</Title><Description>{}</Description><PicUrl>{}</PicUrl><Url>{}</Url></item>",
                            cdata(&a.title),
                            cdata(&a.description),
                            cdata(&a.pic_url),
                            cdata(&a.url)
                        )
                    })
                    .collect();
                format!("<ArticleCount>{}</ArticleCount><Articles>{items}</Articles>", articles.len())
            }
            Reply::TransferCustomerService => String::new(),
        };
        format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime>\
             <MsgType>{}</MsgType>{body}</xml>",
            cdata(to_user),
            cdata(from_user),
            cdata(self.msg_type())
        )
    }

    /// The text stored as the reply's `content` in the message log.
    pub fn summary(&self) -> String {
        match self {
            Reply::Text { content } => content.clone(),
            Reply::Video { title, .. } | Reply::Music { title, .. } => title.clone(),
            Reply::News { articles } => articles
                .first()
                .map(|a| a.title.clone())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    pub fn media_id(&self) -> &str {
        match self {
            Reply::Image { media_id }
            | Reply::Voice { media_id }
            | Reply::Video { media_id, .. } => media_id,
            Reply::Music { thumb_media_id, .. } => thumb_media_id,
            _ => "",
        }
    }
}

/// The AES-mode reply envelope.
pub fn encrypted_envelope(
    encrypt: &str,
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypt),
        cdata(msg_signature),
        cdata(nonce)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::xml;

    #[test]
    fn replies_render_and_read_back() {
        let text = Reply::Text {
            content: "a ]]> b 你好 🎉".into(),
        };
        let fields = xml::parse(&text.to_xml("o_fan", "gh_a", 7)).unwrap();
        assert_eq!(fields.get("Content"), Some("a ]]> b 你好 🎉"));
        assert_eq!(fields.get("ToUserName"), Some("o_fan"));
        assert_eq!(fields.get("MsgType"), Some("text"));
        let news = Reply::News {
            articles: vec![Article {
                title: "T".into(),
                description: "D".into(),
                pic_url: "P".into(),
                url: "U".into(),
            }],
        };
        let fields = xml::parse(&news.to_xml("o", "gh", 1)).unwrap();
        assert_eq!(fields.get("ArticleCount"), Some("1"));
        assert_eq!(fields.get("Articles.item.Url"), Some("U"));
        let music = Reply::Music {
            title: "t".into(),
            description: "d".into(),
            music_url: "m".into(),
            hq_music_url: "h".into(),
            thumb_media_id: "th".into(),
        };
        let fields = xml::parse(&music.to_xml("o", "gh", 1)).unwrap();
        assert_eq!(fields.get("Music.HQMusicUrl"), Some("h"));
        let fields = xml::parse(&Reply::TransferCustomerService.to_xml("o", "gh", 1)).unwrap();
        assert_eq!(fields.get("MsgType"), Some("transfer_customer_service"));
    }
}

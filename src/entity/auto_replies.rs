//! `wx_auto_replies` — keyword, follow and default reply rules.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_auto_replies")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub reply_type: i16,
    pub keyword: String,
    pub match_type: i16,
    pub message_type: String,
    pub content: String,
    pub media_id: String,
    pub title: String,
    pub description: String,
    pub pic_url: String,
    pub url: String,
    pub music_url: String,
    pub hq_music_url: String,
    pub thumb_media_id: String,
    pub priority: i32,
    pub status: i16,
    /// Daily window ("HH:MM", Beijing time) the rule answers in; both
    /// empty: all day. `active_until` before `active_from` wraps past midnight.
    pub active_from: String,
    pub active_until: String,
    /// With `more_replies`: send every reply (0) or one at random (1).
    pub reply_mode: i16,
    /// The replies after the first (whose fields are the columns above), a
    /// JSON array of [`ReplyFields`](crate::wechat::ReplyFields) objects
    /// with their `message_type`.
    pub more_replies: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// One reply of a rule as stored: the first in the row's own columns, the
/// others as objects of `more_replies`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleReply {
    pub message_type: String,
    pub content: String,
    pub media_id: String,
    pub title: String,
    pub description: String,
    pub pic_url: String,
    pub url: String,
    pub music_url: String,
    pub hq_music_url: String,
    pub thumb_media_id: String,
}

/// A rule has at most this many replies (WeChat's own console allows 5).
pub const MAX_REPLIES: usize = 5;

impl Model {
    /// Puts `reply` in the row's columns (its first reply).
    pub fn set_first_reply(&mut self, reply: &RuleReply) {
        self.message_type = reply.message_type.clone();
        self.content = reply.content.clone();
        self.media_id = reply.media_id.clone();
        self.title = reply.title.clone();
        self.description = reply.description.clone();
        self.pic_url = reply.pic_url.clone();
        self.url = reply.url.clone();
        self.music_url = reply.music_url.clone();
        self.hq_music_url = reply.hq_music_url.clone();
        self.thumb_media_id = reply.thumb_media_id.clone();
    }

    /// The reply in the row's columns.
    pub fn first_reply(&self) -> RuleReply {
        RuleReply {
            message_type: self.message_type.clone(),
            content: self.content.clone(),
            media_id: self.media_id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            pic_url: self.pic_url.clone(),
            url: self.url.clone(),
            music_url: self.music_url.clone(),
            hq_music_url: self.hq_music_url.clone(),
            thumb_media_id: self.thumb_media_id.clone(),
        }
    }

    /// The replies of `more_replies`, or the index of the first entry that
    /// is not a reply object (with why), or `None` when it is not an array.
    pub fn more_replies(&self) -> Result<Vec<RuleReply>, Option<(usize, String)>> {
        let Some(more) = &self.more_replies else {
            return Ok(Vec::new());
        };
        let entries = match more {
            Json::Null => return Ok(Vec::new()),
            Json::Array(entries) => entries,
            _ => return Err(None),
        };
        entries
            .iter()
            .enumerate()
            .map(|(i, entry)| RuleReply::deserialize(entry).map_err(|e| Some((i, e.to_string()))))
            .collect()
    }
}

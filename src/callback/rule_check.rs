//! The field checks of a reply rule row (`wx_auto_replies`), for every writer
//! of rules: the rules resource of the admin API, and the menu editor, whose
//! click buttons carry their reply as an exact keyword rule.

use crate::entity::auto_replies;
use crate::entity::enums::{MatchType, ReplyType};
use crate::error::check::{max_bytes, max_chars, one_of, required, url};
use crate::error::FieldErrors;

/// The kinds of message a rule replies with.
pub const REPLY_MESSAGE_TYPES: [&str; 6] = ["text", "image", "voice", "video", "news", "music"];

/// Every check of a rule row: when it answers, what it matches, what it sends.
pub fn rule_errors(m: &auto_replies::Model, errors: &mut FieldErrors) {
    one_of(errors, "reply_type", &m.reply_type, ReplyType::CODES);
    one_of(errors, "match_type", &m.match_type, MatchType::CODES);
    one_of(errors, "status", &m.status, &[0, 1]);
    if m.reply_type == ReplyType::Keyword.code() {
        required(errors, "keyword", &m.keyword);
    }
    max_chars(errors, "keyword", &m.keyword, 255);
    for (field, reason) in
        super::rule_match::rule_errors(&m.keyword, m.match_type, &m.active_from, &m.active_until)
    {
        errors.insert(field.into(), reason);
    }
    reply_errors(m, errors);
}

/// The checks of what a rule sends (its message type and that type's fields).
pub fn reply_errors(m: &auto_replies::Model, errors: &mut FieldErrors) {
    if !REPLY_MESSAGE_TYPES.contains(&m.message_type.as_str()) {
        errors.insert(
            "message_type".into(),
            format!("must be one of {REPLY_MESSAGE_TYPES:?}"),
        );
    }
    match m.message_type.as_str() {
        "text" => required(errors, "content", &m.content),
        "image" | "voice" | "video" => required(errors, "media_id", &m.media_id),
        "news" => {
            required(errors, "title", &m.title);
            required(errors, "url", &m.url);
        }
        "music" => {
            required(errors, "music_url", &m.music_url);
            required(errors, "thumb_media_id", &m.thumb_media_id);
        }
        _ => {}
    }
    // A passive reply is one packet; WeChat drops text over 2048 bytes.
    max_bytes(errors, "content", &m.content, 2048);
    for (field, value) in [
        ("pic_url", &m.pic_url),
        ("url", &m.url),
        ("music_url", &m.music_url),
        ("hq_music_url", &m.hq_music_url),
    ] {
        url(errors, field, value);
    }
}

//! The field checks of a reply rule row (`wx_auto_replies`), for every writer
//! of rules: the rules resource of the admin API, and the menu editor, whose
//! click buttons carry their reply as an exact keyword rule.

use crate::entity::auto_replies::{self, RuleReply, MAX_REPLIES};
use crate::entity::enums::{MatchType, ReplyMode, ReplyType};
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

/// The checks of what a rule sends: the first reply in the row's own columns,
/// up to four more in `more_replies`, whose errors are named
/// `more_replies.<index>.<field>` so a form can put them next to their field.
pub fn reply_errors(m: &auto_replies::Model, errors: &mut FieldErrors) {
    one_of(errors, "reply_mode", &m.reply_mode, ReplyMode::CODES);
    check_reply(errors, "", &m.first_reply());
    match m.more_replies() {
        Err(None) => {
            errors.insert("more_replies".into(), "must be a list of replies".into());
        }
        Err(Some((index, why))) => {
            errors.insert(
                format!("more_replies.{index}"),
                format!("is not a reply: {why}"),
            );
        }
        Ok(more) => {
            if more.len() + 1 > MAX_REPLIES {
                errors.insert(
                    "more_replies".into(),
                    format!("a rule has at most {MAX_REPLIES} replies"),
                );
            }
            for (index, reply) in more.iter().enumerate() {
                check_reply(errors, &format!("more_replies.{index}."), reply);
            }
        }
    }
}

/// One reply's fields, named `prefix` + the field.
fn check_reply(errors: &mut FieldErrors, prefix: &str, r: &RuleReply) {
    let name = |field: &str| format!("{prefix}{field}");
    if !REPLY_MESSAGE_TYPES.contains(&r.message_type.as_str()) {
        errors.insert(
            name("message_type"),
            format!("must be one of {REPLY_MESSAGE_TYPES:?}"),
        );
    }
    match r.message_type.as_str() {
        "text" => required(errors, &name("content"), &r.content),
        "image" | "voice" | "video" => required(errors, &name("media_id"), &r.media_id),
        "news" => {
            required(errors, &name("title"), &r.title);
            required(errors, &name("url"), &r.url);
        }
        "music" => {
            required(errors, &name("music_url"), &r.music_url);
            required(errors, &name("thumb_media_id"), &r.thumb_media_id);
        }
        _ => {}
    }
    // A passive reply is one packet; WeChat drops text over 2048 bytes.
    max_bytes(errors, &name("content"), &r.content, 2048);
    for (field, value) in [
        ("pic_url", &r.pic_url),
        ("url", &r.url),
        ("music_url", &r.music_url),
        ("hq_music_url", &r.hq_music_url),
    ] {
        url(errors, &name(field), value);
    }
}
